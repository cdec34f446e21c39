//! Spec tests: the shipped definitions scored by hand. Every expectation here was worked out on
//! paper from the definition files, so a failure means the engine or a definition changed.

use careweave_instruments::{
    load, load_folder, Answers, Catalogue, Instrument, Outcome, OutcomeCounts, ScaleKind, Scores,
    Source, SHIPPED,
};

/// The shipped definition files in the source tree. Read at run time, not compile time, so a test
/// binary that cargo reuses from another checkout of the same sources still finds this one.
fn shipped_definitions_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("definitions")
}

fn shipped() -> Catalogue {
    load(&[Source::Shipped])
}

fn instrument(id: &str) -> Instrument {
    shipped().get(id).cloned().expect("the instrument ships")
}

fn score(
    instrument: &Instrument,
    answers: &[(&str, i64)],
    recorded: &[(&str, f64, Option<i64>)],
) -> Scores {
    let mut given = Answers::new();
    for (item, value) in answers {
        given.answer(*item, *value);
    }
    for (scale, score, level) in recorded {
        given.record(*scale, *score, *level);
    }
    instrument.score(&given).expect("the answers are valid")
}

/// One expected row per scale: id, raw, converted, band.
type Expected<'a> = (&'a str, f64, Option<f64>, Option<&'a str>);

fn check(scores: &Scores, expected: &[Expected<'_>]) {
    let actual: Vec<(String, f64, Option<f64>, Option<String>)> = scores
        .scales()
        .iter()
        .map(|s| {
            (
                s.scale().to_string(),
                s.raw(),
                s.converted(),
                s.band().map(str::to_owned),
            )
        })
        .collect();
    let expected: Vec<(String, f64, Option<f64>, Option<String>)> = expected
        .iter()
        .map(|(id, raw, converted, band)| {
            ((*id).to_owned(), *raw, *converted, band.map(str::to_owned))
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn the_shipped_definitions_load_without_errors() {
    let catalogue = shipped();
    let errors: Vec<String> = catalogue.errors().iter().map(ToString::to_string).collect();
    assert_eq!(errors, Vec::<String>::new());
    let ids: Vec<&str> = catalogue
        .instruments()
        .map(|l| l.instrument().id().as_str())
        .collect();
    assert_eq!(ids, ["example-made-up", "ons4"]);

    let from_folder = load_folder(&shipped_definitions_dir());
    assert!(
        from_folder.errors().is_empty(),
        "{:?}",
        from_folder.errors()
    );
    assert_eq!(from_folder.instruments().count(), 2);
}

#[test]
fn the_compiled_in_list_matches_the_definitions_folder() {
    let mut on_disk: Vec<String> = std::fs::read_dir(shipped_definitions_dir())
        .expect("the folder exists")
        .map(|entry| {
            entry
                .expect("readable")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let compiled: Vec<&str> = SHIPPED.iter().map(|(name, _)| *name).collect();
    assert_eq!(on_disk, compiled);
    for (name, text) in SHIPPED {
        let disk = std::fs::read_to_string(shipped_definitions_dir().join(name)).expect("readable");
        assert_eq!(&disk, text, "{name}");
    }
}

#[test]
fn ons4_reports_each_question_with_the_ons_thresholds() {
    let ons4 = instrument("ons4");
    assert!(ons4.source().contains("Open Government Licence"));
    let options = ons4.item("satisfied").expect("item").options();
    assert_eq!(options.len(), 11);
    assert_eq!(options[0].label(), "0 – not at all");
    assert_eq!(options[5].label(), "5");
    assert_eq!(options[10].label(), "10 – completely");

    let scores = score(
        &ons4,
        &[
            ("satisfied", 7),
            ("worthwhile", 5),
            ("happy", 10),
            ("anxious", 6),
        ],
        &[],
    );
    check(
        &scores,
        &[
            ("life_satisfaction", 7.0, None, Some("High")),
            ("worthwhile", 5.0, None, Some("Medium")),
            ("happiness", 10.0, None, Some("Very high")),
            ("anxiety", 6.0, None, Some("High")),
        ],
    );
}

#[test]
fn ons4_band_edges() {
    let ons4 = instrument("ons4");
    // Each row: the answer to every question, then the band of the three "higher is better"
    // questions and of anxiety.
    let cases = [
        (0, "Low", "Very low"),
        (1, "Low", "Very low"),
        (2, "Low", "Low"),
        (3, "Low", "Low"),
        (4, "Low", "Medium"),
        (5, "Medium", "Medium"),
        (6, "Medium", "High"),
        (7, "High", "High"),
        (8, "High", "High"),
        (9, "Very high", "High"),
        (10, "Very high", "High"),
    ];
    for (value, positive, anxiety) in cases {
        let scores = score(
            &ons4,
            &[
                ("satisfied", value),
                ("worthwhile", value),
                ("happy", value),
                ("anxious", value),
            ],
            &[],
        );
        let bands: Vec<Option<&str>> = scores.scales().iter().map(|s| s.band()).collect();
        assert_eq!(
            bands,
            [
                Some(positive),
                Some(positive),
                Some(positive),
                Some(anxiety)
            ],
            "answer {value}"
        );
    }
}

#[test]
fn ons4_change_uses_each_questions_direction() {
    let ons4 = instrument("ons4");
    let baseline = score(
        &ons4,
        &[
            ("satisfied", 7),
            ("worthwhile", 5),
            ("happy", 10),
            ("anxious", 6),
        ],
        &[],
    );
    let follow_up = score(
        &ons4,
        &[
            ("satisfied", 9),
            ("worthwhile", 4),
            ("happy", 10),
            ("anxious", 1),
        ],
        &[],
    );
    let changes = ons4.change(&baseline, &follow_up).expect("same instrument");
    let rows: Vec<(&str, f64, Outcome)> = changes
        .iter()
        .map(|c| (c.scale.as_str(), c.change, c.outcome))
        .collect();
    assert_eq!(
        rows,
        [
            ("life_satisfaction", 2.0, Outcome::Improved),
            ("worthwhile", -1.0, Outcome::Worsened),
            ("happiness", 0.0, Outcome::Stayed),
            // Anxiety fell by 5: lower is better, so it improved.
            ("anxiety", -5.0, Outcome::Improved),
        ]
    );
    assert_eq!(changes[3].baseline_band.as_deref(), Some("High"));
    assert_eq!(changes[3].follow_up_band.as_deref(), Some("Very low"));

    // Anxiety rising is a worsening.
    let reverse = ons4.change(&follow_up, &baseline).expect("same instrument");
    assert_eq!(reverse[3].outcome, Outcome::Worsened);
}

fn example_baseline(example: &Instrument) -> Scores {
    // sunshine: whistle 3 + grey 2 reversed to 3 + sunlight 4 + kettle 1 = 11, converted 38.
    // energy: sluggish 1 reversed to 4, bounce 3, mean 3.5.
    // fretting: 2. spark: recorded 55.5 at level 2.
    score(
        example,
        &[
            ("whistle", 3),
            ("grey", 2),
            ("sunlight", 4),
            ("kettle", 1),
            ("sluggish", 1),
            ("bounce", 3),
            ("fret", 2),
        ],
        &[("spark", 55.5, Some(2))],
    )
}

#[test]
fn the_made_up_example_scores_every_kind_of_scale() {
    let example = instrument("example-made-up");
    assert!(example.name().contains("MADE-UP"));
    assert!(example.about().contains("MADE-UP EXAMPLE"));
    assert!(example.item("grey").expect("item").is_reversed());
    assert!(matches!(
        example.scale("spark").expect("scale").kind(),
        ScaleKind::External(_)
    ));

    let scores = example_baseline(&example);
    check(
        &scores,
        &[
            ("sunshine", 11.0, Some(38.0), Some("Bright spells")),
            ("energy", 3.5, None, Some("Lively")),
            ("fretting", 2.0, None, Some("Some")),
            ("spark", 55.5, None, Some("Medium spark")),
        ],
    );
    assert_eq!(
        scores.scale("spark").and_then(|s| s.level()),
        Some((2, "Spark level 2"))
    );
    assert_eq!(scores.scale("sunshine").map(|s| s.reported()), Some(38.0));
}

#[test]
fn the_made_up_example_reaches_its_extremes_through_reverse_scoring() {
    let example = instrument("example-made-up");
    // Every answer "Never" (1): grey and sluggish reverse to 4. sunshine = 1 + 4 + 1 + 1 = 7,
    // converted 21. energy = (4 + 1) / 2 = 2.5.
    let scores = score(
        &example,
        &[
            ("whistle", 1),
            ("grey", 1),
            ("sunlight", 1),
            ("kettle", 1),
            ("sluggish", 1),
            ("bounce", 1),
            ("fret", 0),
        ],
        &[("spark", 0.0, Some(1))],
    );
    check(
        &scores,
        &[
            ("sunshine", 7.0, Some(21.0), Some("Overcast")),
            ("energy", 2.5, None, Some("Middling")),
            ("fretting", 0.0, None, Some("None")),
            ("spark", 0.0, None, Some("Low spark")),
        ],
    );
    // The best answers: sunshine 4 + 4 + 4 + 4 = 16, converted 65.
    let scores = score(
        &example,
        &[
            ("whistle", 4),
            ("grey", 1),
            ("sunlight", 4),
            ("kettle", 4),
            ("sluggish", 1),
            ("bounce", 4),
            ("fret", 3),
        ],
        &[("spark", 100.0, Some(3))],
    );
    check(
        &scores,
        &[
            ("sunshine", 16.0, Some(65.0), Some("Sunny")),
            ("energy", 4.0, None, Some("Lively")),
            ("fretting", 3.0, None, Some("A lot")),
            ("spark", 100.0, None, Some("High spark")),
        ],
    );
}

#[test]
fn the_made_up_example_judges_change_against_meaningful_change_both_ways() {
    let example = instrument("example-made-up");
    let baseline = example_baseline(&example);
    // sunshine: 4 + (grey 1 -> 4) + 4 + 2 = 14, converted 52: up 14 on the converted score,
    // beyond the meaningful 5. energy: (sluggish 2 -> 3) + 3 = 3.0: down 0.5, within the
    // meaningful 1. fretting: 1, down 1 where lower is better and any change counts. spark: 52.5,
    // down 3, within the meaningful 3.5.
    let follow_up = score(
        &example,
        &[
            ("whistle", 4),
            ("grey", 1),
            ("sunlight", 4),
            ("kettle", 2),
            ("sluggish", 2),
            ("bounce", 3),
            ("fret", 1),
        ],
        &[("spark", 52.5, Some(2))],
    );
    let changes = example
        .change(&baseline, &follow_up)
        .expect("same instrument");
    let rows: Vec<(&str, f64, Outcome)> = changes
        .iter()
        .map(|c| (c.scale.as_str(), c.change, c.outcome))
        .collect();
    assert_eq!(
        rows,
        [
            ("sunshine", 14.0, Outcome::Improved),
            ("energy", -0.5, Outcome::Stayed),
            ("fretting", -1.0, Outcome::Improved),
            ("spark", -3.0, Outcome::Stayed),
        ]
    );

    // sunshine: 3 + (grey 3 -> 2) + 4 + 1 = 10, converted 34: down 4, within the meaningful 5.
    // energy: ((sluggish 4 -> 1) + 1) / 2 = 1.0: down 2.5, beyond the meaningful 1. fretting: 3,
    // up 1 where lower is better. spark: 52.0, down exactly the meaningful 3.5, which counts.
    let worse = score(
        &example,
        &[
            ("whistle", 3),
            ("grey", 3),
            ("sunlight", 4),
            ("kettle", 1),
            ("sluggish", 4),
            ("bounce", 1),
            ("fret", 3),
        ],
        &[("spark", 52.0, Some(1))],
    );
    let changes = example.change(&baseline, &worse).expect("same instrument");
    let rows: Vec<(&str, f64, Outcome)> = changes
        .iter()
        .map(|c| (c.scale.as_str(), c.change, c.outcome))
        .collect();
    assert_eq!(
        rows,
        [
            ("sunshine", -4.0, Outcome::Stayed),
            ("energy", -2.5, Outcome::Worsened),
            ("fretting", 1.0, Outcome::Worsened),
            ("spark", -3.5, Outcome::Worsened),
        ]
    );

    // Exactly the meaningful change counts as improvement: sunshine 34 -> 38 is 4 (stayed),
    // spark 52.0 -> 55.5 is exactly 3.5 (improved).
    let back = example.change(&worse, &baseline).expect("same instrument");
    assert_eq!(back[0].outcome, Outcome::Stayed);
    assert_eq!(back[3].outcome, Outcome::Improved);
}

#[test]
fn outcome_counts_give_the_share_improved() {
    let counts = OutcomeCounts::tally([
        Outcome::Improved,
        Outcome::Stayed,
        Outcome::Improved,
        Outcome::Worsened,
    ]);
    assert_eq!(
        (
            counts.improved,
            counts.stayed,
            counts.worsened,
            counts.total()
        ),
        (2, 1, 1, 4)
    );
    assert_eq!(counts.share_improved(), Some(0.5));
    assert_eq!(OutcomeCounts::tally([]).share_improved(), None);
}

#[test]
fn change_refuses_scores_of_another_instrument() {
    let ons4 = instrument("ons4");
    let example = instrument("example-made-up");
    let theirs = example_baseline(&example);
    let ours = score(
        &ons4,
        &[
            ("satisfied", 7),
            ("worthwhile", 5),
            ("happy", 10),
            ("anxious", 6),
        ],
        &[],
    );
    let error = ons4
        .change(&theirs, &ours)
        .expect_err("different instruments");
    assert_eq!(
        error.to_string(),
        "the baseline was scored with `example-made-up` version 0.1, not `ons4` version 1"
    );
}
