//! The directory's contract: import and export round-trip in both formats, bad input is reported
//! record by record, and every ORUK filter selects exactly what the standard says.

use careweave_directory::search::{Index, Query};
use careweave_directory::{demo, oruk, spreadsheet, Format, LatLon, PostcodeTable, RecordRef};
use chrono::{DateTime, NaiveDate, TimeZone, Utc, Weekday};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn table(rows: &[(&str, f64, f64)]) -> PostcodeTable {
    let mut t = PostcodeTable::new();
    for (p, lat, lon) in rows {
        t.insert(p.parse().unwrap(), LatLon::new(*lat, *lon).unwrap());
    }
    t
}

#[test]
fn the_json_feed_round_trips() {
    let d = demo::generate(11, 300, &careweave_directory::PostcodeTable::new(), today()).unwrap();
    let feed = oruk::export_feed(&d.services).unwrap();
    let back = oruk::parse_feed(&feed, Some(&d.postcodes), now());
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(back.accepted, d.services);
    // The same services also come back when wrapped in an ORUK page object.
    let page = serde_json::to_string(&oruk::Page::of(
        d.services.iter().map(oruk::service_json).collect(),
        1,
        1_000,
    ))
    .unwrap();
    assert_eq!(
        oruk::parse_feed(&page, Some(&d.postcodes), now()).accepted,
        d.services
    );
}

#[test]
fn the_spreadsheet_round_trips() {
    let d = demo::generate(12, 300, &careweave_directory::PostcodeTable::new(), today()).unwrap();
    let (csv, losses) = spreadsheet::export_csv(&d.services);
    assert!(losses.is_empty(), "{losses:?}");
    let back = spreadsheet::parse_csv(&csv, Some(&d.postcodes), now());
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(back.accepted, d.services);
    // And JSON → CSV → JSON keeps everything the spreadsheet can hold.
    let again = oruk::export_feed(&back.accepted).unwrap();
    assert_eq!(again, oruk::export_feed(&d.services).unwrap());
}

#[test]
fn formula_cells_are_defused_in_the_spreadsheet_and_read_back_unchanged() {
    let d = demo::generate(12, 20, &careweave_directory::PostcodeTable::new(), today()).unwrap();
    let mut services = d.services.clone();
    services[0].name = "=HYPERLINK(\"http://evil.example\",\"Open\")".into();
    services[0].description = "@SUM(A1:A9)".into();
    services[0].fees = Some("+cmd|' /C calc'!A0".into());
    services[0].eligibility_description = Some("-2+3 and '=1".into());
    let (csv, _) = spreadsheet::export_csv(&services);
    // No cell of the file starts with a formula character a spreadsheet would run.
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    for record in reader.records() {
        for cell in &record.unwrap() {
            let runs = cell.starts_with(['=', '+', '@', '\t', '\r'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(!runs, "{cell}");
        }
    }
    assert!(csv.contains("'@SUM(A1:A9)"), "{csv}");
    // The import undoes the defusing: the directory comes back exactly as it went out.
    let back = spreadsheet::parse_csv(&csv, Some(&d.postcodes), now());
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(back.accepted, services);
}

#[test]
fn a_service_at_several_places_takes_several_rows() {
    let csv = "id,organization_id,organization_name,name,postcode,location_name\n\
               s1,o1,Org,Walks,LS1 4AP,Park gate\n\
               s1,o1,Org,Walks,LS2 7HY,Library\n\
               s2,o1,Org,Other,,\n";
    let t = table(&[("LS1 4AP", 53.796, -1.548), ("LS2 7HY", 53.806, -1.555)]);
    let r = spreadsheet::parse_csv(csv, Some(&t), now());
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!((r.read, r.accepted.len()), (2, 2));
    assert_eq!(r.accepted[0].locations.len(), 2);
    assert!(r.accepted[1].locations.is_empty());
    let (out, losses) = spreadsheet::export_csv(&r.accepted);
    assert!(losses.is_empty());
    assert_eq!(
        spreadsheet::parse_csv(&out, Some(&t), now()).accepted,
        r.accepted
    );
}

fn good_json(id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "name": format!("Service {id}"),
        "status": "active",
        "organization": {"id": "org-1", "name": "Org One", "description": "d"},
        "schedules": [{"id": format!("{id}-s"), "freq": "WEEKLY", "byday": "MO", "opens_at": "09:00:00", "closes_at": "12:00:00"}],
        "service_at_locations": [{"id": format!("{id}-at"), "location": {"id": format!("{id}-l"), "location_type": "physical",
            "addresses": [{"id": format!("{id}-a"), "address_1": "1 High Street", "city": "Leeds", "postal_code": "LS1 4AP"}]}}],
        "attributes": [{"id": format!("{id}-t"), "taxonomy_term": {"id": "food", "name": "Food"}}]
    })
}

#[test]
fn bad_json_records_are_reported_one_by_one_and_good_ones_kept() {
    let t = table(&[("LS1 4AP", 53.796, -1.548)]);
    let mut no_name = good_json("b1");
    no_name["name"] = serde_json::Value::Null;
    let mut unknown_term = good_json("b2");
    unknown_term["attributes"][0]["taxonomy_term"] =
        serde_json::json!({"id": "astrology", "name": "Astrology"});
    let mut impossible_time = good_json("b3");
    impossible_time["schedules"][0]["closes_at"] = "08:00:00".into();
    let mut unknown_postcode = good_json("b4");
    unknown_postcode["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] =
        "ZZ1 1ZZ".into();
    let feed = serde_json::json!([
        good_json("g1"),
        no_name,
        unknown_term,
        impossible_time,
        unknown_postcode,
        42,
        good_json("g2"),
        good_json("g1")
    ]);
    let r = oruk::parse_feed(&feed.to_string(), Some(&t), now());
    assert_eq!(r.read, 8);
    assert_eq!(
        r.accepted.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        ["g1", "g2"]
    );
    assert_eq!(r.rejected, 6);
    assert!(r.reconciles());
    let said = |n: usize| {
        r.diagnostics
            .iter()
            .filter(|d| d.record == RecordRef::Item(n))
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(
        said(2).contains("name: every service needs a name"),
        "{}",
        said(2)
    );
    assert!(
        said(3).contains("unknown taxonomy term 'astrology'"),
        "{}",
        said(3)
    );
    assert!(
        said(4).contains("closes at 08:00, which is not after it opens at 09:00"),
        "{}",
        said(4)
    );
    assert!(
        said(5).contains("postcode ZZ1 1ZZ is not in the postcode table"),
        "{}",
        said(5)
    );
    assert!(said(6).contains("not an ORUK service"), "{}", said(6));
    assert!(
        said(8).contains("the same id is already used by record 1"),
        "{}",
        said(8)
    );
    assert!(said(2).starts_with("record 2 (b1), "), "{}", said(2));
}

#[test]
fn files_that_are_not_feeds_say_so_and_import_nothing() {
    let t = PostcodeTable::new();
    for text in ["{not json", "\"a string\"", "{\"items\": []}"] {
        let r = oruk::parse_feed(text, Some(&t), now());
        assert!(r.accepted.is_empty());
        assert_eq!(r.diagnostics.len(), 1, "{text}");
        assert_eq!(r.diagnostics[0].record, RecordRef::File);
    }
    let r = spreadsheet::parse_csv("name,colour\nx,blue\n", Some(&t), now());
    assert!(r.diagnostics[0].reason.contains("including 'id'"));
    let r = spreadsheet::parse_csv("id,name,colour\nx,y,blue\n", Some(&t), now());
    assert!(r.diagnostics[0].reason.contains("unknown column 'colour'"));
}

#[test]
fn bad_spreadsheet_rows_name_their_line_and_column() {
    let t = table(&[("LS1 4AP", 53.796, -1.548)]);
    let csv = "id,organization_id,organization_name,name,needs,postcode,opening_times,minimum_age,maximum_age,accepts_referrals\n\
               ok-1,o,Org,Good,food,LS1 4AP,MO 09:00-12:00,18,,yes\n\
               bad-1,o,Org,Bad term,astrology,LS1 4AP,,,,\n\
               bad-2,o,Org,Bad time,food,LS1 4AP,MO 25:00-26:00,,,\n\
               bad-3,o,Org,Bad postcode,food,ZZ1 1ZZ,,,,\n\
               bad-4,o,Org,Bad ages,food,,,70,18,maybe\n\
               bad-5,o,Org,\"unterminated\n";
    let r = spreadsheet::parse_csv(csv, Some(&t), now());
    assert_eq!(r.accepted.len(), 1);
    assert!(r.accepted[0].accepts_referrals);
    assert!(r.reconciles(), "{r:?}");
    let at = |line: usize, column: &str| {
        r.diagnostics
            .iter()
            .find(|d| d.record == RecordRef::Line(line) && d.field == column)
            .map(|d| d.reason.clone())
            .unwrap_or_else(|| {
                panic!(
                    "no diagnostic for line {line} {column}: {:?}",
                    r.diagnostics
                )
            })
    };
    assert!(at(3, "needs").contains("unknown taxonomy term 'astrology'"));
    assert!(at(4, "opening_times").contains("'25:00' is not a time of day"));
    assert!(at(5, "postcode").contains("not in the postcode table"));
    assert!(at(6, "maximum_age").contains("below minimum age 70"));
    assert!(at(6, "accepts_referrals").contains("yes or no"));
    assert!(r.diagnostics.iter().any(|d| d.record == RecordRef::Line(7)));
}

#[test]
fn the_standards_own_example_is_read_and_its_impossible_values_named() {
    // The ORUK example service uses placeholder values (latitude 100, postcode "ABC 1234", the
    // taxonomy term "name"); careweave must refuse them with reasons, not crash or guess.
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("tests/data/oruk/service_full.json");
    let text =
        std::fs::read_to_string(path).expect("the ORUK example is vendored in tests/data/oruk");
    let r = oruk::parse_feed(&format!("[{text}]"), Some(&PostcodeTable::new()), now());
    assert_eq!((r.read, r.rejected), (1, 1));
    let fields: Vec<&str> = r.diagnostics.iter().map(|d| d.field.as_str()).collect();
    assert!(fields.contains(&"location.latitude"), "{fields:?}");
    assert!(
        fields.contains(&"location.addresses.postal_code"),
        "{fields:?}"
    );
    assert!(fields.contains(&"attributes.taxonomy_term"), "{fields:?}");
}

#[test]
fn postcodes_in_a_file_are_found_before_checking() {
    let feed = serde_json::json!([good_json("a")]).to_string();
    assert_eq!(
        careweave_directory::postcodes_in(Format::Json, &feed).len(),
        1
    );
    let csv = "id,postcode\na,ls1 4ap\nb,LS1 4AP\nc,nonsense\n";
    assert_eq!(careweave_directory::postcodes_in(Format::Csv, csv).len(), 1);
}

// The filter spec: a tiny directory in spreadsheet form, and for each query the ids it must find.
const SPEC: &str = "\
id,organization_id,organization_name,name,description,status,needs,accepts_referrals,minimum_age,maximum_age,postcode,location_type,opening_times,last_modified
debt,o1,Money Trust,Debt clinic,Help with bills,active,debt-advice,yes,18,,LS1 4AP,,MO 09:00-12:00,2026-01-10T00:00:00Z
walk,o2,Walkers,Health walk,Gentle walking group,active,physical-activity,no,,,LS2 7HY,,WE 10:00-11:00; SA 09:00-10:30,2026-02-20T00:00:00Z
teen,o2,Walkers,Teen football,Football for young people,active,physical-activity,no,11,18,LS6 1AA,,SA 10:00-12:00,2025-06-01T00:00:00Z
line,o1,Money Trust,Debt phone line,Call for budgeting help,active,debt-advice; mental-health,no,16,99,,virtual,\"MO,TU,WE,TH,FR 08:00-20:00\",2026-02-01T00:00:00Z
shut,o3,Food Group,Food pantry,Low cost food,defunct,food,no,,,LS1 4AP,,TH 13:00-15:00,2024-01-01T00:00:00Z
";

fn spec_index() -> std::sync::Arc<Index> {
    let t = table(&[
        ("LS1 4AP", 53.7960, -1.5480),
        ("LS2 7HY", 53.8060, -1.5550), // about 1.2 km from LS1 4AP
        ("LS6 1AA", 53.8200, -1.5800), // about 3.4 km from LS1 4AP
    ]);
    let r = spreadsheet::parse_csv(SPEC, Some(&t), now());
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    Index::new(r.accepted)
}

fn check(q: Query, expected: &[&str]) {
    let index = spec_index();
    let mut got: Vec<&str> = index
        .search(&q)
        .iter()
        .map(|h| h.service.id.as_str())
        .collect();
    if q.near.is_none() {
        got.sort_unstable();
        let mut want = expected.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{q:?}");
    } else {
        assert_eq!(got, expected, "{q:?} (nearest first)");
    }
}

fn at_ls1() -> Option<LatLon> {
    LatLon::new(53.7960, -1.5480)
}

#[test]
fn text_search_needs_every_word_in_any_field() {
    check(
        Query {
            text: Some("debt".into()),
            ..Query::default()
        },
        &["debt", "line"],
    );
    check(
        Query {
            text: Some("BUDGETING help".into()),
            ..Query::default()
        },
        &["line"],
    );
    check(
        Query {
            text: Some("walkers".into()),
            ..Query::default()
        },
        &["walk", "teen"],
    );
    check(
        Query {
            text: Some("mental health".into()),
            ..Query::default()
        },
        &["line"],
    );
    check(
        Query {
            text: Some("nothing like this".into()),
            ..Query::default()
        },
        &[],
    );
}

#[test]
fn taxonomy_filters_match_terms_and_taxonomies() {
    check(
        Query {
            taxonomy_term_id: Some("physical-activity".into()),
            ..Query::default()
        },
        &["walk", "teen"],
    );
    check(
        Query {
            taxonomy_term_id: Some("mental-health".into()),
            ..Query::default()
        },
        &["line"],
    );
    check(
        Query {
            taxonomy_term_id: Some("accepts-direct-referrals".into()),
            ..Query::default()
        },
        &["debt"],
    );
    check(
        Query {
            taxonomy_term_id: Some("no-such-term".into()),
            ..Query::default()
        },
        &[],
    );
    check(
        Query {
            taxonomy_id: Some("careweave-access".into()),
            ..Query::default()
        },
        &["debt"],
    );
    check(
        Query {
            taxonomy_id: Some("careweave-needs".into()),
            ..Query::default()
        },
        &["debt", "walk", "teen", "line", "shut"],
    );
}

#[test]
fn age_filters_follow_the_standard_and_the_person_age_extension() {
    // ORUK: minimum_age = services whose minimum age is at least the value.
    check(
        Query {
            minimum_age: Some(16),
            ..Query::default()
        },
        &["debt", "line"],
    );
    check(
        Query {
            minimum_age: Some(18),
            ..Query::default()
        },
        &["debt"],
    );
    // ORUK: maximum_age = services whose maximum age is at most the value.
    check(
        Query {
            maximum_age: Some(18),
            ..Query::default()
        },
        &["teen"],
    );
    check(
        Query {
            maximum_age: Some(99),
            ..Query::default()
        },
        &["teen", "line"],
    );
    // careweave: a person of this age may use the service.
    check(
        Query {
            age: Some(15),
            ..Query::default()
        },
        &["walk", "teen", "shut"],
    );
    check(
        Query {
            age: Some(40),
            ..Query::default()
        },
        &["debt", "walk", "line", "shut"],
    );
}

#[test]
fn postcode_and_proximity_keep_services_within_range_nearest_first() {
    check(
        Query {
            near: at_ls1(),
            proximity_m: Some(500.0),
            ..Query::default()
        },
        &["debt", "shut"],
    );
    check(
        Query {
            near: at_ls1(),
            proximity_m: Some(2_000.0),
            ..Query::default()
        },
        &["debt", "shut", "walk"],
    );
    check(
        Query {
            near: at_ls1(),
            proximity_m: Some(5_000.0),
            ..Query::default()
        },
        &["debt", "shut", "walk", "teen"],
    );
    // Without a proximity everything comes back, nearest first, with places before online services.
    check(
        Query {
            near: at_ls1(),
            ..Query::default()
        },
        &["debt", "shut", "walk", "teen", "line"],
    );
    let index = spec_index();
    let hits = index.search(&Query {
        near: at_ls1(),
        proximity_m: Some(2_000.0),
        ..Query::default()
    });
    let walk = hits
        .iter()
        .find(|h| h.service.id.as_str() == "walk")
        .unwrap();
    assert!(
        (1_100.0..1_400.0).contains(&walk.distance_m.unwrap()),
        "{:?}",
        walk.distance_m
    );
}

#[test]
fn a_postcode_is_checked_against_service_area_boundaries_where_there_are_any() {
    let t = table(&[("LS1 4AP", 53.796, -1.548)]);
    // About 2 km square around LS1 4AP, and the same far to the north.
    let square = |lat: f64| {
        format!(
            r#"{{"type":"Polygon","coordinates":[[[-1.56,{s}],[-1.53,{s}],[-1.53,{n}],[-1.56,{n}],[-1.56,{s}]]]}}"#,
            s = lat - 0.01,
            n = lat + 0.01
        )
    };
    let mut near = good_json("near");
    near["service_areas"] = serde_json::json!([
        {"id": "near-area", "name": "City centre", "extent": square(53.796), "extent_type": "GeoJSON"}
    ]);
    let mut far = good_json("far");
    far["service_areas"] = serde_json::json!([
        {"id": "far-area", "name": "The north", "extent": square(54.5), "extent_type": "geojson"}
    ]);
    // A boundary careweave cannot test is not kept, so the service is not filtered by it.
    let mut kml = good_json("kml");
    kml["service_areas"] = serde_json::json!([
        {"id": "kml-area", "name": "Somewhere", "extent": "<kml/>", "extent_type": "kml"}
    ]);
    let plain = good_json("plain");
    let feed = serde_json::json!([near, far, kml, plain]).to_string();
    let r = oruk::parse_feed(&feed, Some(&t), now());
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert!(r.accepted[2].service_areas[0].extent.is_none());
    let index = Index::new(r.accepted.clone());
    let mut got: Vec<&str> = index
        .search(&Query {
            in_area: at_ls1(),
            ..Query::default()
        })
        .iter()
        .map(|h| h.service.id.as_str())
        .collect();
    got.sort_unstable();
    assert_eq!(got, ["kml", "near", "plain"]);
    // The boundary is written back as GeoJSON and read again unchanged.
    let again = oruk::parse_feed(&oruk::export_feed(&r.accepted).unwrap(), Some(&t), now());
    assert_eq!(again.accepted, r.accepted);
    // A boundary that is not GeoJSON is named.
    let mut bad = good_json("bad");
    bad["service_areas"] = serde_json::json!([
        {"id": "bad-area", "name": "Nowhere", "extent": "{\"type\":\"Point\"}", "extent_type": "geojson"}
    ]);
    let r = oruk::parse_feed(&serde_json::json!([bad]).to_string(), Some(&t), now());
    assert_eq!(r.rejected, 1);
    assert!(
        r.diagnostics[0].field == "service_areas.extent"
            && r.diagnostics[0].reason.contains("Polygon"),
        "{:?}",
        r.diagnostics
    );
}

#[test]
fn the_api_publishes_every_id_as_a_stable_uuid_and_finds_records_by_it() {
    let d = demo::generate(13, 40, &PostcodeTable::new(), today()).unwrap();
    let flagship = d
        .services
        .iter()
        .find(|s| s.id.as_str() == demo::FLAGSHIP_ID)
        .unwrap();
    let published = serde_json::to_value(oruk::api_service_json(flagship)).unwrap();
    // Every `id` and `*_id` anywhere in the document is a UUID.
    fn ids(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if k == "id" || k.ends_with("_id") {
                        out.push(v.as_str().unwrap_or_default().to_owned());
                    }
                    ids(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| ids(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    ids(&published, &mut all);
    assert!(all.len() > 8, "{all:?}");
    for id in &all {
        let u = uuid_shape(id);
        assert!(u, "{id} is not a UUID");
    }
    assert_eq!(published["id"], flagship.id.uuid());
    // The same record always gets the same UUID, and different records different ones.
    assert_eq!(
        careweave_directory::model::oruk_uuid(demo::FLAGSHIP_ID),
        flagship.id.uuid()
    );
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    // A term's id repeats where the service carries it twice (attribute and nested term).
    assert!(unique.len() * 2 > all.len());
    // An id that already is a UUID is published as it is.
    let already = d
        .services
        .iter()
        .find(|s| uuid_shape(s.id.as_str()))
        .unwrap();
    assert_eq!(already.id.uuid(), already.id.as_str());
    // The index finds a service by either id.
    let index = Index::new(d.services.clone());
    assert_eq!(index.get(&flagship.id.uuid()).unwrap().id, flagship.id);
    assert_eq!(index.get(demo::FLAGSHIP_ID).unwrap().id, flagship.id);
    // Terms keep their readable id as `code`, and a published document reads back as the same
    // needs (a feed from another careweave names terms by UUID).
    let terms = oruk::taxonomy_terms();
    assert!(terms.iter().all(|t| uuid_shape(t.id.as_deref().unwrap())));
    assert!(terms.iter().any(|t| t.code.as_deref() == Some("food")));
    let back = oruk::parse_feed(
        &serde_json::json!([published]).to_string(),
        Some(&d.postcodes),
        now(),
    );
    assert!(back.diagnostics.is_empty(), "{:?}", back.diagnostics);
    assert_eq!(back.accepted[0].needs, flagship.needs);
    assert_eq!(
        back.accepted[0].accepts_referrals,
        flagship.accepts_referrals
    );
}

fn uuid_shape(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && s.bytes()
            .all(|b| b == b'-' || (b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
}

#[test]
fn day_and_time_filters_use_the_same_schedule() {
    check(
        Query {
            day: Some(Weekday::Sat),
            ..Query::default()
        },
        &["walk", "teen"],
    );
    check(
        Query {
            day: Some(Weekday::Mon),
            ..Query::default()
        },
        &["debt", "line"],
    );
    check(
        Query {
            day: Some(Weekday::Sun),
            ..Query::default()
        },
        &[],
    );
    // Opens at or after 10:00 on a Saturday: only the football (the walk opens at 09:00 then).
    check(
        Query {
            day: Some(Weekday::Sat),
            start_time: "10:00".parse().ok(),
            ..Query::default()
        },
        &["teen"],
    );
    // Closes at or before 11:00 on any day.
    check(
        Query {
            end_time: "11:00".parse().ok(),
            ..Query::default()
        },
        &["walk"],
    );
    check(
        Query {
            start_time: "09:00".parse().ok(),
            end_time: "12:00".parse().ok(),
            ..Query::default()
        },
        &["debt", "walk", "teen"],
    );
}

#[test]
fn open_on_a_date_and_time_is_answered_from_the_schedules() {
    let saturday = NaiveDate::from_ymd_opt(2026, 3, 7);
    check(
        Query {
            open_on: saturday,
            ..Query::default()
        },
        &["walk", "teen"],
    );
    check(
        Query {
            open_on: saturday,
            open_at: "09:30".parse().ok(),
            ..Query::default()
        },
        &["walk"],
    );
    check(
        Query {
            open_on: saturday,
            open_at: "11:00".parse().ok(),
            ..Query::default()
        },
        &["teen"],
    );
    check(
        Query {
            open_on: NaiveDate::from_ymd_opt(2026, 3, 5),
            open_at: "14:00".parse().ok(),
            ..Query::default()
        },
        &["line", "shut"],
    );
}

#[test]
fn modified_after_status_and_organisation_filters() {
    let since = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    check(
        Query {
            modified_after: Some(since),
            ..Query::default()
        },
        &["walk", "line"],
    );
    check(
        Query {
            running_only: true,
            taxonomy_term_id: Some("food".into()),
            ..Query::default()
        },
        &[],
    );
    check(
        Query {
            organization_id: Some("o1".into()),
            ..Query::default()
        },
        &["debt", "line"],
    );
    check(
        Query {
            taxonomy_term_id: Some("physical-activity".into()),
            day: Some(Weekday::Wed),
            ..Query::default()
        },
        &["walk"],
    );
}

#[test]
fn pages_follow_the_oruk_page_object() {
    let p = oruk::Page::of((1..=7).collect::<Vec<_>>(), 2, 3);
    assert_eq!(
        (p.total_items, p.total_pages, p.page_number, p.size),
        (7, 3, 2, 3)
    );
    assert_eq!(p.contents, [4, 5, 6]);
    assert!(!p.first_page && !p.last_page && !p.empty);
    let last = oruk::Page::of((1..=7).collect::<Vec<_>>(), 3, 3);
    assert!(last.last_page);
    assert_eq!(last.contents, [7]);
    let beyond = oruk::Page::of((1..=7).collect::<Vec<_>>(), 9, 3);
    assert!(beyond.empty && beyond.last_page);
}
