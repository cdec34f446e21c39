//! The demo's place partnership: a workspace for the first PCN, started by the ICB's commissioner
//! with the PCN, the community trust and the council as partners; a synthetic community survey
//! (no identifiers: question, answer, age band and ward) imported through the same reader the
//! page uses; roadshow notes; the clinical group's answers to the four questions with their
//! evidence; a solution-building event with actions (one already done); and two integration
//! self-assessments a year apart. Everything goes through the store functions the pages use, so
//! it is audited like real work.

use anyhow::Context;
use careweave_domain::place::{EventItemKind, EvidenceKind, NoteKind, Question, Score};
use careweave_domain::{OrganisationId, PlaceId};
use careweave_place::checklist::Checklist;
use careweave_place::survey;
use careweave_store::place::{NewAction, NewWorkspace};
use careweave_store::Store;
use chrono::{Days, NaiveDate};

/// The organisations of the demo's partnership: the first is the lead's (the ICB).
pub struct Partners {
    pub icb: OrganisationId,
    pub others: Vec<OrganisationId>,
}

/// What people said, with the age bands and wards they gave: answers repeat so that the theme
/// counts pass disclosure control for some groups and are hidden for others, as real ones would.
const ANSWERS: &[(&str, usize)] = &[
    (
        "The bus to the surgery stopped running after six, so I miss appointments.",
        14,
    ),
    (
        "I can never get an appointment; the phone line is engaged every morning.",
        18,
    ),
    (
        "Since my husband died I am on my own most days and feel lonely.",
        11,
    ),
    ("I care for my mum and nobody asks how I am coping.", 9),
    (
        "The damp in the flat makes my chest worse and the landlord does nothing.",
        6,
    ),
    (
        "I have to tell my story again to every service; they do not talk to each other.",
        10,
    ),
    ("Worried about bills and debt, it keeps me awake.", 8),
    (
        "The community cafe on Tuesdays is the best thing round here.",
        5,
    ),
];

const AGE_BANDS: [&str; 3] = ["18 to 44", "45 to 74", "75 and over"];
const WARDS: [&str; 2] = ["Riverside", "Hillside"];

/// The synthetic survey as the CSV a partner would paste, with one row the reader rejects (a
/// blank answer) so that the import report has something to show.
fn survey_csv() -> String {
    let mut csv = String::from("question,answer,Age band,Ward\n");
    let mut n = 0;
    for &(answer, times) in ANSWERS {
        for _ in 0..times {
            csv.push_str(&format!(
                "What would make the biggest difference to your health?,\"{answer}\",{},{}\n",
                AGE_BANDS[n % AGE_BANDS.len()],
                WARDS[(n / 3) % WARDS.len()]
            ));
            n += 1;
        }
    }
    csv.push_str("What would make the biggest difference to your health?,,45 to 74,Riverside\n");
    csv
}

/// One of the clinical group's answers: the question, the answer and what it rests on (the kind of
/// evidence and its reference).
type DemoAnswer = (
    Question,
    &'static str,
    &'static [(EvidenceKind, &'static str)],
);

/// Loads the partnership; `today` is the demo's today.
pub async fn load(
    store: &Store,
    place: PlaceId,
    partners: &Partners,
    today: NaiveDate,
) -> anyhow::Result<()> {
    let commissioner = store
        .user_by_username("commissioner@demo.careweave")
        .await?
        .context("the demo commissioner is missing")?;
    let lead = store.principal(commissioner).await?;
    let ws = store
        .create_workspace(
            &lead,
            &NewWorkspace {
                name: "Riverside neighbourhood partnership".into(),
                place,
                description: "The PCN, the community trust, the council and the ICB planning care for the neighbourhood together.".into(),
                organisation: partners.icb,
            },
        )
        .await?;
    for &org in &partners.others {
        store.add_partner(&ws, org).await?;
    }
    let ws = store.open_workspace(&lead, ws.id).await?;

    let themes = store.survey_themes().await?;
    let parsed = survey::read("community-survey.csv", &survey_csv(), &themes)
        .map_err(|e| anyhow::anyhow!("the demo survey: {e}"))?;
    store
        .import_survey(
            &ws,
            "Neighbourhood health survey",
            "community-survey.csv",
            &parsed,
        )
        .await?;
    store
        .add_place_note(
            &ws,
            NoteKind::Roadshow,
            today - Days::new(60),
            "Market square roadshow",
            "Transport to appointments came up again and again, and several carers said they did not know where to turn for a break.",
        )
        .await?;

    let answers: [DemoAnswer; 4] = [
        (
            Question::BestPractice,
            "Find people living with frailty early and agree an escalation plan with each, as Northern Devon did.",
            &[
                (EvidenceKind::Chart, "age_band_sex"),
                (EvidenceKind::Cohort, "frailty"),
                (EvidenceKind::Practice, "devon-efi-care-plans"),
            ],
        ),
        (
            Question::Innovation,
            "Try care navigators from the voluntary sector based in the practices.",
            &[(EvidenceKind::Practice, "isle-of-wight-navigators")],
        ),
        (
            Question::Integration,
            "One community MDT for the neighbourhood with clear triggers for review, so people stop telling their story to every service.",
            &[
                (EvidenceKind::Practice, "wokingham-mdt-triggers"),
                (EvidenceKind::Cohort, "wokingham_mdt"),
                (EvidenceKind::Chart, "segment"),
            ],
        ),
        (
            Question::LongTerm,
            "Work with the council on transport and damp housing, which the survey and the deprivation profile point to.",
            &[(EvidenceKind::Chart, "imd_quintile")],
        ),
    ];
    for (question, answer, evidence) in answers {
        let evidence: Vec<(EvidenceKind, String)> =
            evidence.iter().map(|&(k, r)| (k, r.to_owned())).collect();
        store
            .save_place_answer(&ws, question, answer, &evidence)
            .await?;
    }

    let action = |description: &str, owner: &str, due_in: i64, link: &str| NewAction {
        description: description.into(),
        owner: owner.into(),
        due_on: today + chrono::Duration::days(due_in),
        link: link.into(),
    };
    store
        .add_place_event(
            &ws,
            "Solution-building event",
            today - Days::new(30),
            &[
                (
                    EventItemKind::Proposal,
                    "A weekly community MDT using review triggers".into(),
                ),
                (
                    EventItemKind::Proposal,
                    "Care navigators in the two largest practices".into(),
                ),
                (
                    EventItemKind::Decision,
                    "Pilot the MDT for six months from next month".into(),
                ),
            ],
            &[
                action(
                    "Agree the MDT's review triggers",
                    "Clinical director",
                    -5,
                    "Frailty cohort",
                ),
                action("Start the weekly MDT", "PCN manager", 21, "Frailty cohort"),
                action(
                    "Ask the bus company about evening services",
                    "Council transport lead",
                    45,
                    "",
                ),
            ],
        )
        .await?;
    let first = store
        .place_actions(&ws)
        .await?
        .into_iter()
        .find(|a| a.action.description.starts_with("Agree"))
        .context("the demo action")?;
    store
        .complete_place_action(&ws, first.id, today - Days::new(7))
        .await?;

    // Two self-assessments a year apart: most approaches have moved on by one step.
    let checklist = Checklist::shipped();
    let scores_for = |year: usize| -> Vec<(String, Score, String)> {
        checklist
            .items()
            .enumerate()
            .map(|(n, (_, item))| {
                let start = n % 3;
                // Every fourth approach has not moved, so the comparison shows both.
                let step = if n % 4 == 3 { 0 } else { year };
                let rank = (start + step).min(3);
                let score = Score::ALL[rank];
                let evidence = if n == 0 && year == 1 {
                    "The partnership board agreed a shared vision in the spring.".to_owned()
                } else {
                    String::new()
                };
                (item.id.clone(), score, evidence)
            })
            .collect()
    };
    store
        .record_self_assessment(&ws, today - Days::new(372), &scores_for(0))
        .await?;
    store
        .record_self_assessment(&ws, today - Days::new(7), &scores_for(1))
        .await?;
    Ok(())
}
