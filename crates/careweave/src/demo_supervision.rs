//! The demo's supervision and training: a session the demo supervisor held with the link worker
//! two weeks ago (notes, two agreed actions, the next session booked), and training records for
//! both of them, one due to expire soon and one expired, so that the supervision page, the
//! training page and the team view have something to show. Everything goes through the same store
//! functions the pages use, so it is audited like real work.

use careweave_domain::access::Principal;
use careweave_domain::supervision::{expiry_date, CpdHours, TrainingKind};
use careweave_store::supervision::{NewSession, NewSupervisionAction, NewTraining};
use careweave_store::Store;
use chrono::{Days, Months, NaiveDate};

/// Loads the session and the training records; `today` is the demo's today.
pub async fn load(
    store: &Store,
    supervisor: &Principal,
    linkworker: &Principal,
    today: NaiveDate,
) -> anyhow::Result<()> {
    store
        .record_supervision(
            supervisor,
            linkworker.user,
            &NewSession {
                held_on: today - Days::new(14),
                caseload: "Reviewed the twelve open cases. Two are waiting on housing decisions; \
                           agreed to ask the Focused Care team to co-work the one with rent arrears."
                    .to_owned(),
                wellbeing: "Feeling stretched by the evening visits this month. Agreed to keep \
                            Thursdays free of visits for writing up."
                    .to_owned(),
                development: "Interested in Mental Health First Aid and in shadowing a Focused \
                              Care caseworker."
                    .to_owned(),
                actions: vec![
                    NewSupervisionAction {
                        text: "Book a place on the Mental Health First Aid refresher".to_owned(),
                        due_on: today + Days::new(14),
                    },
                    NewSupervisionAction {
                        text: "Shadow Casey Caseworker on a joint visit".to_owned(),
                        due_on: today + Days::new(30),
                    },
                ],
                next_on: Some(today + Days::new(14)),
            },
        )
        .await?;
    // Three years less a month ago, so it falls due within the 60-day warning.
    let mhfa_done = today + Days::new(30) - Months::new(36);
    let records = [
        (
            linkworker,
            TrainingKind::Induction,
            "",
            today - Days::new(400),
            None,
        ),
        (
            linkworker,
            TrainingKind::MentalHealthFirstAid,
            "",
            mhfa_done,
            None,
        ),
        (
            linkworker,
            TrainingKind::SafeguardingAdults2,
            "",
            today - Months::new(38),
            None,
        ),
        (
            linkworker,
            TrainingKind::Cpd,
            "Motivational interviewing",
            today - Days::new(60),
            Some("6"),
        ),
        (
            supervisor,
            TrainingKind::SafeguardingAdults3,
            "",
            today - Days::new(200),
            None,
        ),
    ];
    for (who, kind, title, completed_on, hours) in records {
        store
            .record_training(
                who,
                who.user,
                &NewTraining {
                    kind,
                    title: title.to_owned(),
                    completed_on,
                    expires_on: expiry_date(kind, completed_on, None)?,
                    cpd_hours: hours.map(CpdHours::parse).transpose()?,
                },
            )
            .await?;
    }
    Ok(())
}
