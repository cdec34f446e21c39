//! A believable synthetic directory for the demo neighbourhood, deterministic from a seed.
//!
//! [`generate`] writes a few hundred services across every need category, run by a mix of
//! charities, community groups, the council and the NHS, with weekly or monthly opening times,
//! age ranges, phone numbers and locations at the neighbourhood's postcodes. Services are built as
//! spreadsheet rows and read back through [`crate::spreadsheet::parse_csv`], so the demo directory
//! is exactly what a real directory team could have typed, and round-trips through both formats.
//!
//! Everything here is invented: the places, organisations, numbers (Ofcom's drama range
//! 01632 960xxx) and postcodes (outward codes `RV1`–`RV9`, which no real area uses, unless the
//! caller passes the neighbourhood's own synthetic postcodes).

use careweave_domain::Postcode;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use crate::geo::{LatLon, PostcodeTable};
use crate::import::Diagnostic;
use crate::model::Service;
use crate::spreadsheet::{parse_csv, sheet_text, SheetRow};

/// The demo's organisations that are also careweave organisations, so that their staff can answer
/// referrals and propose edits. Their names must match the demo's organisations exactly.
pub const PROVIDERS: &[&str] = &["Hillside Wellbeing Network", "Riverside Community Trust"];

/// The demo directory and the postcode table its distances come from.
#[derive(Debug, Clone)]
pub struct DemoDirectory {
    pub postcodes: PostcodeTable,
    pub services: Vec<Service>,
}

/// Why the demo could not be built: only a bug in this module can cause it.
#[derive(Debug, thiserror::Error)]
#[error("the demo directory generator wrote records its own importer refused: {0:?}")]
pub struct DemoError(pub Vec<Diagnostic>);

/// A small, fast, well-mixed generator (SplitMix64), so the output depends on nothing but the seed.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

fn hash(text: &str) -> u64 {
    let mut r = Rng(0x5EED);
    for b in text.bytes() {
        r.0 ^= u64::from(b);
        r.next();
    }
    r.next()
}

const CENTRE: (f64, f64) = (53.40, -1.90);

/// Where a postcode sits: districts spread a few kilometres around the centre, sectors within a
/// district, units within a sector, all from hashes so that any postcode gets a stable place.
fn place_of(p: &Postcode) -> LatLon {
    let text = p.as_str();
    let sector = &text[..text.len() - 2];
    let offset = |key: &str, km: f64| {
        let h = hash(key);
        #[allow(clippy::cast_precision_loss)]
        let (a, r) = (
            (h & 0xffff) as f64 / 65_536.0 * std::f64::consts::TAU,
            ((h >> 16) & 0xffff) as f64 / 65_536.0 * km,
        );
        (r * a.cos(), r * a.sin())
    };
    let (dy1, dx1) = offset(p.outward(), 5.0);
    let (dy2, dx2) = offset(sector, 0.8);
    let (dy3, dx3) = offset(text, 0.2);
    let km_per_deg_lat = 111.2;
    let km_per_deg_lon = 111.2 * CENTRE.0.to_radians().cos();
    let lat = CENTRE.0 + (dy1 + dy2 + dy3) / km_per_deg_lat;
    let lon = CENTRE.1 + (dx1 + dx2 + dx3) / km_per_deg_lon;
    // Six decimal places, as the ONS Postcode Directory publishes them, so that coordinates
    // survive a round trip through text unchanged.
    let round6 = |x: f64| (x * 1e6).round() / 1e6;
    // The offsets are a few kilometres, so the point is always valid.
    LatLon::new(round6(lat), round6(lon)).unwrap_or_else(unreachable_point)
}

fn unreachable_point() -> LatLon {
    LatLon::new(CENTRE.0, CENTRE.1).unwrap_or_else(|| unreachable!("the centre is a valid point"))
}

/// The synthetic postcodes used when the caller gives none: nine districts of a few dozen units.
fn own_postcodes(rng: &mut Rng) -> Vec<Postcode> {
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    let mut out = Vec::new();
    for district in 1..=9 {
        for sector in 1..=4 {
            for _ in 0..8 {
                let a = char::from(letters[rng.below(letters.len())]);
                let b = char::from(letters[rng.below(letters.len())]);
                if let Ok(p) = format!("RV{district} {sector}{a}{b}").parse::<Postcode>() {
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

/// What a kind of service looks like: its need, name, description, ages and usual hours.
struct Template {
    need: &'static str,
    names: &'static [&'static str],
    description: &'static str,
    ages: (Option<u8>, Option<u8>),
    times: &'static [&'static str],
    referrals: usize,
}

const TEMPLATES: &[Template] = &[
    Template { need: "debt-advice", names: &["Money Advice Drop-in", "Debt Help Clinic", "Budgeting Support"], description: "Free, confidential help to sort out debts, talk to creditors and make a budget that works.", ages: (Some(18), None), times: &["MO,WE 09:30-16:00", "TU 10:00-13:00", "TH 13:00-17:00"], referrals: 60 },
    Template { need: "welfare-benefits", names: &["Benefits Advice", "Benefit Check and Claims Help", "Appeals Support"], description: "Checks what you are entitled to and helps fill in forms, including Universal Credit and PIP.", ages: (Some(16), None), times: &["MO,TU,TH 09:00-17:00", "WE 10:00-14:00"], referrals: 50 },
    Template { need: "befriending", names: &["Befriending Service", "Telephone Friends", "Good Neighbours"], description: "A trained volunteer visits or phones each week for a chat, a walk or a trip out.", ages: (Some(60), None), times: &["MO,TU,WE,TH,FR 09:00-17:00"], referrals: 80 },
    Template { need: "social-groups", names: &["Lunch Club", "Knit and Natter", "Men's Shed", "Community Cafe", "Tea Dance"], description: "A friendly weekly group to meet people, share a cup of tea and try something new.", ages: (None, None), times: &["TU 10:00-12:00", "TH 12:00-14:00", "FR 14:00-16:00", "1WE 13:30-15:30"], referrals: 10 },
    Template { need: "food", names: &["Food Bank", "Community Pantry", "Community Fridge", "Cook and Eat"], description: "Emergency food parcels and low-cost shopping; no one is turned away on their first visit.", ages: (None, None), times: &["MO,TH 10:00-13:00", "WE 16:00-18:00", "SA 10:00-12:00"], referrals: 30 },
    Template { need: "housing", names: &["Housing Advice", "Tenancy Support", "Home Repairs Service", "Homelessness Prevention Team"], description: "Advice on renting, arrears, repairs and adaptations, and help if you are at risk of losing your home.", ages: (Some(16), None), times: &["MO,TU,WE,TH,FR 09:00-17:00", "WE 10:00-12:00"], referrals: 60 },
    Template { need: "mental-health", names: &["Talking Therapies", "Peer Support Group", "Wellbeing Cafe", "Safe Haven", "Bereavement Support"], description: "Support for low mood, anxiety and stress, with groups, one-to-one sessions and someone to talk to.", ages: (Some(18), None), times: &["MO,TU,WE,TH,FR 09:00-17:00", "TH 18:00-21:00", "SA 12:00-16:00"], referrals: 70 },
    Template { need: "physical-activity", names: &["Health Walks", "Chair Exercise", "Walking Football", "Strength and Balance Class", "Park Run Buddies"], description: "Gentle, sociable exercise led by trained volunteers; come as you are.", ages: (None, None), times: &["TU 10:00-11:00", "WE 11:00-12:00", "SA 09:00-10:30", "TH 14:00-15:00"], referrals: 20 },
    Template { need: "carers", names: &["Carers Support Group", "Carers Break Service", "Young Carers Club"], description: "Information, breaks and a chance to meet other people who look after someone.", ages: (None, None), times: &["2TU 13:00-15:00", "MO,WE,FR 09:00-17:00"], referrals: 50 },
    Template { need: "employment", names: &["Job Club", "Skills and Volunteering Hub", "Work and Health Coaching"], description: "Help with CVs, applications, interviews and finding volunteering to build confidence.", ages: (Some(16), Some(66)), times: &["TU,TH 09:30-12:30", "WE 13:00-16:00"], referrals: 40 },
    Template { need: "digital-inclusion", names: &["Get Online Sessions", "Tablet Lending Library", "Digital Buddies"], description: "Patient help to use a phone, tablet or computer, get online and stay safe.", ages: (None, None), times: &["MO 14:00-16:00", "FR 10:00-12:00"], referrals: 10 },
    Template { need: "substance-use", names: &["Drug and Alcohol Service", "Recovery Cafe", "Family Support Group"], description: "Confidential support to cut down or stop, and for the people around you.", ages: (Some(18), None), times: &["MO,TU,WE,TH,FR 09:00-17:00", "SA 11:00-14:00"], referrals: 60 },
    Template { need: "domestic-abuse", names: &["Domestic Abuse Outreach", "Freedom Programme", "Safety Advice Line"], description: "Safety planning, advice and support from trained workers; call 999 in an emergency.", ages: (Some(16), None), times: &["MO,TU,WE,TH,FR 09:00-17:00"], referrals: 70 },
    Template { need: "long-term-conditions", names: &["Breathe Easy Group", "Diabetes Education Course", "Living Well with Pain", "Heart Support Group"], description: "Learn to manage a condition day to day, with others who understand.", ages: (Some(18), None), times: &["1TH 14:00-16:00", "WE 10:00-12:00"], referrals: 40 },
    Template { need: "transport", names: &["Community Transport", "Dial-a-Ride", "Volunteer Drivers"], description: "Door-to-door transport for people who cannot use buses, to appointments and the shops.", ages: (None, None), times: &["MO,TU,WE,TH,FR 08:00-18:00"], referrals: 30 },
    Template { need: "legal-advice", names: &["Advice Centre", "Rights Advice Drop-in", "Immigration Advice Clinic"], description: "Free general advice on rights at work, consumer problems, immigration and the law.", ages: (Some(16), None), times: &["TU,TH 10:00-15:00", "SA 10:00-12:00"], referrals: 20 },
];

const PLACES: &[&str] = &[
    "Riverside",
    "Hillside",
    "Northway",
    "Millbrook",
    "Eastfield",
    "Oakwood",
    "Southbank",
    "Greenacre",
    "Kingsmead",
    "Ashgrove",
    "Brookfield",
    "Westmoor",
];

const GROUP_KINDS: &[&str] = &[
    "Community Association",
    "Trust",
    "Together",
    "Community Hub",
    "Neighbourhood Network",
    "Partnership",
];

const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Street",
    "Victoria Road",
    "Park Avenue",
    "Market Place",
    "Chapel Street",
    "Bridge Street",
    "Albert Road",
];

const VENUES: &[&str] = &[
    "Community Centre",
    "Library",
    "Methodist Church Hall",
    "Leisure Centre",
    "Family Hub",
    "Health Centre",
    "Scout Hut",
    "Neighbourhood Office",
];

const LANGUAGES: &[&str] = &[
    "Polish",
    "Urdu",
    "Punjabi",
    "Romanian",
    "Arabic",
    "British Sign Language",
];

const ACCESS: &[&str] = &[
    "Step-free access",
    "Hearing loop",
    "Accessible toilet",
    "Parking nearby",
];

/// Builds the demo directory: `count` services whose locations are at `area`'s postcodes (or at
/// postcodes of its own when `area` is empty). Last-reviewed dates spread over the 500 days before
/// `today`, so some entries are stale, as in any real directory.
pub fn generate(
    seed: u64,
    count: usize,
    area: &PostcodeTable,
    today: NaiveDate,
) -> Result<DemoDirectory, DemoError> {
    let mut rng = Rng(seed ^ 0xD1EC_7021);
    // The neighbourhood's own postcodes (with their coordinates) when the caller has them, else a
    // synthetic area placed around a fixed centre.
    let postcodes = if area.is_empty() {
        let mut own = PostcodeTable::new();
        for p in own_postcodes(&mut rng) {
            let at = place_of(&p);
            own.insert(p, at);
        }
        own
    } else {
        area.clone()
    };
    let area: Vec<Postcode> = postcodes.entries().into_iter().map(|(p, _)| p).collect();
    // Organisations: the two careweave providers, the council and the trust, and community groups.
    let mut orgs: Vec<(String, String)> = PROVIDERS
        .iter()
        .chain(&[
            "Riverside City Council",
            "Northway Mental Health NHS Foundation Trust",
        ])
        .map(|n| (rng.uuid(), (*n).to_owned()))
        .collect();
    for place in PLACES {
        for _ in 0..2 {
            let name = format!("{place} {}", rng.pick(GROUP_KINDS));
            if !orgs.iter().any(|(_, n)| *n == name) {
                orgs.push((rng.uuid(), name));
            }
        }
    }
    let now: DateTime<Utc> = today.and_time(NaiveTime::MIN).and_utc();
    let mut rows = Vec::new();
    let mut names_used = std::collections::HashSet::new();
    // The flagship's name is taken, so that walkthroughs find exactly one service by it.
    names_used.insert("Hillside Befriending Service".to_owned());
    for i in 0..count {
        let t = &TEMPLATES[i % TEMPLATES.len()];
        // Providers run about a third of services, the rest spread over the other organisations.
        let org = if rng.chance(30) {
            orgs[rng.below(PROVIDERS.len())].clone()
        } else {
            orgs[rng.below(orgs.len())].clone()
        };
        let is_provider = PROVIDERS.contains(&org.1.as_str());
        let base = format!("{} {}", rng.pick(PLACES), rng.pick(t.names));
        let name = if names_used.insert(base.clone()) {
            base
        } else {
            format!("{base} ({})", org.1)
        };
        names_used.insert(name.clone());
        let virtual_only = rng.chance(8);
        let postcode = rng.pick(&area).clone();
        let reviewed = today - chrono::Duration::days(i64::try_from(rng.below(500)).unwrap_or(0));
        let id = rng.uuid();
        let phone = format!("01632 960{:03}", rng.below(1000));
        let mut languages = vec!["English"];
        if rng.chance(25) {
            languages.push(*rng.pick(LANGUAGES));
        }
        let access: Vec<&str> = ACCESS.iter().copied().filter(|_| rng.chance(50)).collect();
        let slug: String = org
            .1
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("");
        let mut needs = vec![t.need];
        if rng.chance(20) {
            let other = rng.pick(TEMPLATES).need;
            if other != t.need {
                needs.push(other);
            }
        }
        rows.push(SheetRow {
            id: id.clone(),
            organization_id: org.0.clone(),
            organization_name: org.1.clone(),
            name,
            description: t.description.to_owned(),
            status: if rng.chance(4) {
                "temporarily closed"
            } else {
                "active"
            }
            .to_owned(),
            needs: needs.join("; "),
            accepts_referrals: if is_provider && rng.chance(t.referrals.max(50)) {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            minimum_age: t.ages.0.map(|a| a.to_string()).unwrap_or_default(),
            maximum_age: t.ages.1.map(|a| a.to_string()).unwrap_or_default(),
            eligibility_description: if t.ages.0.is_some() {
                "Adults living in the neighbourhood".to_owned()
            } else {
                String::new()
            },
            fees: if rng.chance(15) {
                "Small charge for materials; free to anyone on benefits".to_owned()
            } else {
                "Free".to_owned()
            },
            url: format!("https://{slug}.example.org"),
            email: format!("hello@{slug}.example.org"),
            phone,
            languages: languages.join("; "),
            service_area: format!("{} and surrounding neighbourhoods", postcode.outward()),
            location_type: if virtual_only { "virtual" } else { "physical" }.to_owned(),
            location_id: format!("{id}-location"),
            location_name: if virtual_only {
                "Online and by phone".to_owned()
            } else {
                format!("{} {}", rng.pick(PLACES), rng.pick(VENUES))
            },
            address_1: if virtual_only {
                String::new()
            } else {
                format!("{} {}", 1 + rng.below(120), rng.pick(STREETS))
            },
            city: if virtual_only {
                String::new()
            } else {
                "Riverside".to_owned()
            },
            postcode: if virtual_only {
                String::new()
            } else {
                postcode.to_string()
            },
            accessibility: if virtual_only {
                String::new()
            } else {
                access.join("; ")
            },
            opening_times: rng.pick(t.times).to_string(),
            assured_date: reviewed.format("%Y-%m-%d").to_string(),
            assurer_email: format!("directory@{slug}.example.org"),
            last_modified: (now
                - chrono::Duration::days(i64::try_from(rng.below(900)).unwrap_or(0)))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ..SheetRow::default()
        });
    }
    rows.push(flagship(
        &orgs[0],
        area.first().map_or("", Postcode::as_str),
        today,
    ));
    let report = parse_csv(&sheet_text(&rows), Some(&postcodes), now);
    if report.rejected > 0 {
        return Err(DemoError(report.diagnostics));
    }
    Ok(DemoDirectory {
        postcodes,
        services: report.accepted,
    })
}

/// The id of the one service every demo has, so that walkthroughs and browser tests can find it.
pub const FLAGSHIP_ID: &str = "hillside-befriending";

/// A befriending service of the first provider that takes direct referrals, open on weekdays.
fn flagship(org: &(String, String), postcode: &str, today: NaiveDate) -> SheetRow {
    SheetRow {
        id: FLAGSHIP_ID.to_owned(),
        organization_id: org.0.clone(),
        organization_name: org.1.clone(),
        name: "Hillside Befriending Service".to_owned(),
        description: "A volunteer befriender visits or phones every week. For adults who feel lonely or cut off, and their carers.".to_owned(),
        status: "active".to_owned(),
        needs: "befriending; social-groups".to_owned(),
        accepts_referrals: "yes".to_owned(),
        minimum_age: "18".to_owned(),
        eligibility_description: "Adults living in the neighbourhood who feel lonely or isolated".to_owned(),
        fees: "Free".to_owned(),
        url: "https://hillsidewellbeingnetwork.example.org/befriending".to_owned(),
        email: "befriending@hillsidewellbeingnetwork.example.org".to_owned(),
        phone: "01632 960001".to_owned(),
        languages: "English; Polish".to_owned(),
        service_area: "The whole neighbourhood".to_owned(),
        location_type: "physical".to_owned(),
        location_id: format!("{FLAGSHIP_ID}-location"),
        location_name: "Hillside Community Centre".to_owned(),
        address_1: "12 Chapel Street".to_owned(),
        city: "Riverside".to_owned(),
        postcode: postcode.to_owned(),
        accessibility: "Step-free access; Hearing loop".to_owned(),
        opening_times: "MO,TU,WE,TH,FR 09:00-17:00".to_owned(),
        assured_date: today.format("%Y-%m-%d").to_string(),
        assurer_email: "directory@hillsidewellbeingnetwork.example.org".to_owned(),
        last_modified: today.and_time(NaiveTime::MIN).and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        ..SheetRow::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::Need;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    #[test]
    fn the_demo_is_deterministic_and_covers_every_need() {
        let a = generate(7, 300, &PostcodeTable::new(), today()).unwrap();
        let b = generate(7, 300, &PostcodeTable::new(), today()).unwrap();
        assert_eq!(a.services, b.services);
        assert_eq!(a.services.len(), 301);
        for need in Need::all() {
            let n = a
                .services
                .iter()
                .filter(|s| s.needs.contains(&need))
                .count();
            assert!(n >= 10, "{} has only {n} services", need.id());
        }
        assert!(a.services.iter().any(|s| s.accepts_referrals));
        assert!(
            a.services.iter().any(|s| s.is_stale(today(), 365)),
            "some entries are stale"
        );
        assert_ne!(
            generate(8, 300, &PostcodeTable::new(), today())
                .unwrap()
                .services,
            a.services
        );
    }

    #[test]
    fn locations_sit_at_the_given_postcodes_within_the_neighbourhood() {
        let mut area = PostcodeTable::new();
        for p in ["RV1 1AB", "RV1 2CD", "RV2 1EF"] {
            let p: Postcode = p.parse().unwrap();
            let at = place_of(&p);
            area.insert(p, at);
        }
        let d = generate(1, 50, &area, today()).unwrap();
        assert_eq!(d.postcodes.len(), 3);
        let centre = LatLon::new(CENTRE.0, CENTRE.1).unwrap();
        for s in &d.services {
            for l in &s.locations {
                if let Some(p) = l.location.postcode() {
                    assert!(area.get(p).is_some());
                    assert!(centre.metres_to(l.location.coordinates().unwrap()) < 7_000.0);
                }
            }
        }
    }
}
