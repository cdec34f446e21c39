//! The speed target: 1,000 replications of a year of a 10-worker service in 10 seconds or
//! less on 2 cores. Run with `cargo bench -p careweave-workforce --bench simulate`; the figures go
//! in docs/benchmarks.md.

use careweave_workforce::sim::{simulate, summarise, Distribution, RunSpec, Service, Triage};
use std::time::Instant;

fn main() {
    let service = Service {
        name: "Link workers".into(),
        arrivals_per_week: 9.0,
        triage: Triage {
            accept: 0.8,
            redirect: 0.15,
            reject: 0.05,
        },
        episode_weeks: Distribution::LogNormal {
            mean: 12.0,
            sd: 4.0,
        },
        contacts_per_week: Distribution::LogNormal {
            mean: 0.75,
            sd: 0.25,
        },
        hours_per_contact: 1.25,
        workers: 10,
        // 90 places for about 86 people in support at once: a busy service with a waiting list.
        caseload_cap: 9,
        worker_hours_per_week: 26.6,
    };
    let spec = RunSpec {
        seed: 2026,
        replications: 1000,
        weeks: 52,
        warm_up_weeks: 26,
    };
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    for round in 1..=3 {
        let t = Instant::now();
        let reps = simulate(&service, &spec);
        let run = t.elapsed();
        let s = summarise(&reps);
        println!(
            "round {round}: {} replications of {} weeks (after {} weeks' warm-up), {} workers, {threads} threads: {:.3} s; wait p50 {:.2} weeks, p90 {:.2} weeks, utilisation {:.3}",
            spec.replications,
            spec.weeks,
            spec.warm_up_weeks,
            service.workers,
            run.as_secs_f64(),
            s.wait_p50,
            s.wait_p90,
            s.utilisation
        );
    }
}
