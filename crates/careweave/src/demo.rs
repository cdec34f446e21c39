//! `careweave demo`: a synthetic neighbourhood with a working team, served on embedded SQLite.
//!
//! The people come from the synthetic population generator (`careweave-synth`), so the demo shows
//! the same neighbourhood that the population engine analyses. On top of it the demo creates the
//! organisations a real neighbourhood has (the PCN, two charities, a mental health trust, the
//! council and the ICB), one account for every role, and caseloads for two workers from different
//! employers.

use careweave_domain::clock::Clock;
use std::path::PathBuf;

use anyhow::Context;
use careweave_domain::access::{Membership, Role};
use careweave_domain::{
    FundingStream, OrganisationId, OrganisationKind, PlaceId, PlaceLevel, StaffRole, UserId,
};
use careweave_store::accounts::NewUser;
use careweave_store::people::{NewOrganisation, NewPerson, NewPlace, NewStaff};
use careweave_store::{DatabaseUrl, Store};
use careweave_synth::{Profile, Registry, SynthConfig};
use secrecy::SecretString;

/// The password of every demo account. It is printed at start: the demo holds synthetic data only.
const DEMO_PASSWORD: &str = "careweave-demo";

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Port to serve on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Where the demo database lives. It is rebuilt from scratch on every run.
    #[arg(long, default_value = "data/demo")]
    data_dir: PathBuf,
    /// How many synthetic people live in the neighbourhood.
    #[arg(long, default_value_t = 34_000)]
    people: u32,
    /// The generator's seed: the same seed gives the same neighbourhood.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Start the demo's clock at this instant (RFC 3339, such as 2026-06-16T10:00:00Z) instead of
    /// now; it then runs on in real time. For browser tests and demonstrations that must not depend
    /// on the wall clock. Only the demo reads it: `careweave serve` always uses the system clock.
    #[arg(long, env = "CAREWEAVE_DEMO_CLOCK")]
    clock: Option<chrono::DateTime<chrono::Utc>>,
}

/// One demo account.
struct DemoAccount {
    username: &'static str,
    name: &'static str,
    role: Role,
    employer: Employer,
    staff_role: Option<(StaffRole, FundingStream)>,
}

#[derive(Clone, Copy)]
enum Employer {
    Pcn,
    Charity,
    Hillside,
    FirstPractice,
    Icb,
}

const ACCOUNTS: &[DemoAccount] = &[
    // The PCN's administrator manages accounts and reads the audit log; it is an account, not a
    // post in the workforce, so it has no staff record. The PCN's manager is a post.
    DemoAccount {
        username: "admin@demo.careweave",
        name: "Alex Admin",
        role: Role::Admin,
        employer: Employer::Pcn,
        staff_role: None,
    },
    DemoAccount {
        username: "manager@demo.careweave",
        name: "Morgan Manager",
        role: Role::Manager,
        employer: Employer::Pcn,
        staff_role: Some((StaffRole::PcnManager, FundingStream::PracticeCore)),
    },
    DemoAccount {
        username: "linkworker@demo.careweave",
        name: "Lee Linkworker",
        role: Role::Worker,
        employer: Employer::Charity,
        staff_role: Some((StaffRole::LinkWorker, FundingStream::Arrs)),
    },
    DemoAccount {
        username: "caseworker@demo.careweave",
        name: "Casey Caseworker",
        role: Role::Worker,
        employer: Employer::Pcn,
        staff_role: Some((StaffRole::Caseworker, FundingStream::Arrs)),
    },
    DemoAccount {
        username: "supervisor@demo.careweave",
        name: "Sam Supervisor",
        role: Role::Supervisor,
        employer: Employer::Charity,
        staff_role: Some((StaffRole::Supervisor, FundingStream::Charity)),
    },
    DemoAccount {
        username: "referrer@demo.careweave",
        name: "Dr Rae Referrer",
        role: Role::Referrer,
        employer: Employer::FirstPractice,
        staff_role: Some((StaffRole::Gp, FundingStream::PracticeCore)),
    },
    DemoAccount {
        username: "analyst@demo.careweave",
        name: "Ana Analyst",
        role: Role::Analyst,
        employer: Employer::Icb,
        staff_role: Some((StaffRole::Analyst, FundingStream::NhsTrust)),
    },
    DemoAccount {
        username: "commissioner@demo.careweave",
        name: "Chris Commissioner",
        role: Role::Commissioner,
        employer: Employer::Icb,
        staff_role: Some((StaffRole::Commissioner, FundingStream::NhsTrust)),
    },
    DemoAccount {
        username: "provider@demo.careweave",
        name: "Pat Provider",
        role: Role::Worker,
        employer: Employer::Hillside,
        staff_role: Some((StaffRole::LinkWorker, FundingStream::Charity)),
    },
];

/// How many people each demo worker has in their caseload.
const CASELOAD: usize = 12;

pub async fn run(mut settings: careweave_web::Settings, args: DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.people >= 100,
        "--people must be at least 100 for a believable neighbourhood"
    );
    let db_path = args.data_dir.join("careweave-demo.db");
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db_path.display()));
        if file.exists() {
            std::fs::remove_file(&file)
                .with_context(|| format!("could not remove {}", file.display()))?;
        }
    }
    let store = Store::connect(&DatabaseUrl::sqlite_file(&db_path)).await?;
    store.migrate().await?;

    eprintln!(
        "Generating a synthetic neighbourhood of {} people (seed {})…",
        args.people, args.seed
    );
    // The neighbourhood carries planted support episodes with a known effect, so that the
    // evaluation page has a real estimate to show on first sign-in.
    let config = SynthConfig::new(i64::from(args.people), args.seed, Profile::DeprivedUrban)?
        .with_intervention(careweave_synth::Intervention::default());
    let registry = careweave_synth::generate_registry(&config)
        .context("could not generate the neighbourhood")?;
    let zone = careweave_domain::clock::parse_time_zone(&settings.timezone)
        .context("the timezone setting")?;
    let clock = match args.clock {
        Some(start) => Clock::starting_at(start, zone),
        None => Clock::system(zone),
    };
    // The demo's data is dated on its own clock, and so is what the store decides about dates.
    let store = store.with_clock(clock);
    let summary = load(&store, &registry, &clock).await?;
    let fhir_token = demo_fhir_token(&store).await?;

    settings.database_url = DatabaseUrl::sqlite_file(&db_path).redacted();
    settings.host = "127.0.0.1".to_owned();
    settings.port = args.port;
    let app = careweave_web::Application::build_with_store(settings, store)
        .await?
        .with_clock(clock);

    println!();
    println!(
        "careweave demo: {} people in {} practices of {}.",
        summary.people, summary.practices, summary.pcn
    );
    println!("Sign in as any of these accounts:");
    for a in ACCOUNTS {
        println!("  {:<30} {:<13} {}", a.username, a.role.label(), a.name);
    }
    println!("Password for every demo account: {DEMO_PASSWORD}");
    println!("Listening on http://127.0.0.1:{}", app.port());
    println!(
        "FHIR API token acting for Casey Caseworker (read only; issue others on /admin/api-tokens):\n  {fhir_token}\n  \
         e.g. curl -H \"Authorization: Bearer {fhir_token}\" http://127.0.0.1:{}/fhir/Patient",
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(())
}

/// A read-only FHIR API token for the demo caseworker, issued by the demo admin as an admin would
/// on `/admin/api-tokens`, so that a FHIR client can read the demo caseload's referrals, episodes
/// and plans at once.
async fn demo_fhir_token(store: &Store) -> anyhow::Result<String> {
    use secrecy::ExposeSecret;
    let id = |username: &'static str| async move {
        store
            .user_by_username(username)
            .await?
            .with_context(|| format!("the demo account {username} is missing"))
    };
    let admin = store.principal(id("admin@demo.careweave").await?).await?;
    let caseworker = id("caseworker@demo.careweave").await?;
    let organisation = admin
        .memberships
        .first()
        .context("the demo admin has no organisation")?
        .organisation;
    let issued = store
        .issue_api_token(
            &admin,
            &careweave_store::api_tokens::NewApiToken {
                client_name: "Demo FHIR client".to_owned(),
                organisation,
                acts_for: caseworker,
                scope: careweave_store::api_tokens::ApiScope::Read,
            },
        )
        .await?;
    Ok(issued.token.expose_secret().to_owned())
}

struct Loaded {
    pcn: String,
    practices: usize,
    people: usize,
}

/// Loads the registry and the demo organisations, accounts and caseloads into an empty store.
async fn load(store: &Store, registry: &Registry, clock: &Clock) -> anyhow::Result<Loaded> {
    // Places: each PCN, then each LSOA (inside the first PCN: LSOAs do not nest in PCNs, but the
    // demo needs every place to sit somewhere in the hierarchy).
    let mut pcn_places = Vec::with_capacity(registry.pcns.len());
    for pcn in &registry.pcns {
        pcn_places.push(
            store
                .insert_place(&NewPlace {
                    level: PlaceLevel::Pcn,
                    code: pcn.code.as_str().to_owned(),
                    name: pcn.name.clone(),
                    parent: None,
                    imd_decile: None,
                })
                .await?,
        );
    }
    let first_pcn = registry.pcns.first().context("the generator made no PCN")?;
    for lsoa in &registry.lsoas {
        store
            .insert_place(&NewPlace {
                level: PlaceLevel::Lsoa,
                code: lsoa.code.as_str().to_owned(),
                name: lsoa.name.clone(),
                parent: Some(pcn_places[0]),
                imd_decile: Some(lsoa.imd_decile),
            })
            .await?;
    }

    // Organisations: every practice, each PCN, and the partners a neighbourhood works with.
    let mut practices = Vec::with_capacity(registry.practices.len());
    for p in &registry.practices {
        practices.push(
            store
                .insert_organisation(&NewOrganisation {
                    name: p.name.clone(),
                    kind: OrganisationKind::GpPractice,
                    ods_code: Some(p.ods_code.clone()),
                    place: Some(pcn_places[p.pcn]),
                })
                .await?,
        );
    }
    let partner = |name: &str, kind, ods: Option<&str>, place: Option<PlaceId>| NewOrganisation {
        name: name.to_owned(),
        kind,
        ods_code: ods.and_then(|c| c.parse().ok()),
        place,
    };
    let mut pcns = Vec::with_capacity(registry.pcns.len());
    for (pcn, place) in registry.pcns.iter().zip(&pcn_places) {
        pcns.push(
            store
                .insert_organisation(&partner(
                    &pcn.name,
                    OrganisationKind::Pcn,
                    Some(pcn.code.as_str()),
                    Some(*place),
                ))
                .await?,
        );
    }
    let pcn = pcns[0];
    let charity = store
        .insert_organisation(&partner(
            "Riverside Community Trust",
            OrganisationKind::Vcse,
            None,
            None,
        ))
        .await?;
    let hillside = store
        .insert_organisation(&partner(
            "Hillside Wellbeing Network",
            OrganisationKind::Vcse,
            None,
            None,
        ))
        .await?;
    store
        .insert_organisation(&partner(
            "Northway Mental Health NHS Foundation Trust",
            OrganisationKind::NhsTrust,
            Some("RXT"),
            None,
        ))
        .await?;
    let council = store
        .insert_organisation(&partner(
            "Riverside City Council",
            OrganisationKind::Council,
            None,
            None,
        ))
        .await?;
    let icb = store
        .insert_organisation(&partner(
            "Riverside and District ICB",
            OrganisationKind::Icb,
            Some("QXX"),
            None,
        ))
        .await?;

    // Households, then people, in input order so that indices line up.
    let households = store
        .insert_households(
            registry
                .households
                .iter()
                .map(|h| (Some(&h.postcode), Some(&h.lsoa))),
        )
        .await?;
    // The registry numbers households from 1 in its own order; map that to the store's ids.
    let household_of = |h: careweave_domain::HouseholdId| {
        usize::try_from(h.get() - 1)
            .ok()
            .and_then(|i| households.get(i))
            .copied()
    };
    let people: Vec<NewPerson> = registry
        .people
        .iter()
        .map(|p| NewPerson {
            nhs_number: p.nhs_number,
            given_name: p.given_name.to_owned(),
            family_name: p.family_name.to_owned(),
            date_of_birth: p.date_of_birth,
            sex: p.sex,
            postcode: Some(p.postcode.clone()),
            lsoa: Some(p.lsoa.clone()),
            imd_decile: registry
                .lsoas
                .iter()
                .find(|l| l.code == p.lsoa)
                .map(|l| l.imd_decile),
            registered_practice: practices[p.practice],
            household: household_of(p.household),
            date_of_death: p.date_of_death,
        })
        .collect();
    let ids = store
        .register_people(
            None,
            &people,
            "demo neighbourhood from the synthetic generator",
        )
        .await?;

    // Accounts for every role, each with a staff record.
    let employer_of = |e: Employer| match e {
        Employer::Pcn => pcn,
        Employer::Charity => charity,
        Employer::Hillside => hillside,
        Employer::FirstPractice => practices[0],
        Employer::Icb => icb,
    };
    let mut users: Vec<(UserId, OrganisationId, &DemoAccount)> = Vec::new();
    for a in ACCOUNTS {
        let employer = employer_of(a.employer);
        let user = store
            .create_user(NewUser {
                username: a.username.to_owned(),
                display_name: a.name.to_owned(),
                password: SecretString::from(DEMO_PASSWORD.to_owned()),
                memberships: vec![Membership {
                    organisation: employer,
                    role: a.role,
                }],
            })
            .await?;
        if let Some((role, funding)) = a.staff_role {
            store
                .insert_staff(&NewStaff {
                    user: Some(user),
                    name: a.name.to_owned(),
                    role,
                    specialism: None,
                    employer,
                    base_practice: Some(practices[0]),
                    funding,
                })
                .await?;
        }
        users.push((user, employer, a));
    }

    let today = clock.today();
    // Caseloads: each worker supports living adults with the most complex needs, different people
    // for each, as a team splitting a shared list would.
    let mut candidates: Vec<usize> = (0..registry.people.len())
        .filter(|&i| {
            let p = &registry.people[i];
            p.date_of_death.is_none()
                && careweave_domain::dates::age_on(p.date_of_birth, today) >= 18
        })
        .collect();
    // Complexity as a worker would see it: long-term conditions plus social needs.
    candidates.sort_by_key(|&i| {
        let c = &registry.people[i].clinical;
        std::cmp::Reverse(c.conditions.len() + 2 * c.social_needs.len())
    });
    let workers = users.iter().filter(|(_, _, a)| a.role == Role::Worker);
    for (n, (user, employer, _)) in workers.enumerate() {
        for &i in candidates.iter().skip(n * CASELOAD).take(CASELOAD) {
            let since = today - chrono::Duration::days(14 + (i % 120) as i64);
            store
                .add_to_care_team(None, ids[i], *user, *employer, since)
                .await?;
        }
    }

    crate::population_cmd::load_demo(store, &registry.config).await?;
    crate::demo_workforce::load(store, practices[0], pcn, charity).await?;
    crate::demo_place::load(
        store,
        pcn_places[0],
        &crate::demo_place::Partners {
            icb,
            others: vec![pcn, charity, council],
        },
        today,
    )
    .await?;

    store
        .load_demo_directory(
            registry
                .postcodes
                .iter()
                .map(|p| (p.postcode.clone(), p.latitude, p.longitude)),
            2026,
        )
        .await?;

    // Casework: two services from two employers and a live caseload in every state.
    crate::demo_casework::load(
        store,
        registry,
        candidates.get(100..).unwrap_or(&[]),
        &practices,
        pcn,
        charity,
        clock,
    )
    .await?;

    Ok(Loaded {
        pcn: first_pcn.name.clone(),
        practices: practices.len(),
        people: ids.len(),
    })
}
