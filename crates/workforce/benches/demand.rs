//! Demand for every place in ≤ 5 s on top of a population run (issue 18). Demand reads the place
//! profiles, so its cost grows with places, not people: this plans every LSOA in England (33,755,
//! about 1,600 people each, 55 million people in all) plus their practices and PCNs, under the
//! as-is and one to-be scenario. Run with `cargo bench -p careweave-workforce --bench demand`.

use careweave_workforce::model::{Group, Level, SEGMENTS};
use careweave_workforce::scenario::Shift;
use careweave_workforce::{plan, Model, PlaceCounts, Post, Scenario, Vocabulary};
use std::time::Instant;

fn main() {
    let vocab = Vocabulary::default();
    let model = Model::defaults(&vocab).expect("the shipped model");
    let places: Vec<PlaceCounts> = (0..33_755 + 6_300 + 1_250)
        .map(|i: u64| {
            let mut groups = std::collections::BTreeMap::new();
            let mut core20 = std::collections::BTreeMap::new();
            let all = 1_200 + i % 800;
            groups.insert(Group::All, all);
            core20.insert(Group::All, if i.is_multiple_of(5) { all } else { 0 });
            for (k, s) in SEGMENTS.iter().enumerate() {
                let n = all / (3 + k as u64 * 2);
                groups.insert(Group::Segment((*s).to_owned()), n);
                core20.insert(
                    Group::Segment((*s).to_owned()),
                    if i.is_multiple_of(5) { n } else { 0 },
                );
            }
            for c in ["focused_care", "frailty", "top3"] {
                groups.insert(Group::Cohort(c.to_owned()), all / 30);
            }
            PlaceCounts {
                level: "lsoa".into(),
                place: format!("E0100{i:04}"),
                name: format!("Place {i}"),
                groups,
                core20,
                hidden_cells: 0,
            }
        })
        .collect();
    let posts = vec![Post {
        role: "link_worker".into(),
        wte: 2.0,
        arrs: true,
        employer: None,
    }];
    let mut to_be = Scenario::named("to be");
    to_be.shifts.push(Shift {
        from: Level::Advanced,
        to: Level::Generic,
        percent: 20.0,
    });
    for round in 1..=3 {
        let t = Instant::now();
        let mut wte = 0.0;
        for p in &places {
            for s in [&Scenario::as_is(), &to_be] {
                wte += plan(&model, p, &posts, s).demand_wte();
            }
        }
        println!(
            "round {round}: {} places × 2 scenarios planned in {:.3} s ({wte:.0} WTE in all)",
            places.len(),
            t.elapsed().as_secs_f64()
        );
    }
}
