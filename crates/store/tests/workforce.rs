//! The supply side of workforce planning on SQLite and PostgreSQL: posts with their WTE, employer
//! and funding, and activity measured from casework (contacts per case, episode length, time to
//! first contact) over a window.

use careweave_domain::casework::{ContactType, DischargeDestination, DischargeReason, GpAgreement};
use careweave_domain::{FundingStream, StaffRole};
use careweave_store::casework::{Discharge, NewContact};
use careweave_store::people::NewStaff;
use careweave_store::testing::{cross_employer_case, TestDatabase};
use careweave_store::{Backend, Store};

macro_rules! on_both_backends {
    ($name:ident, |$s:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn run($s: Store) $body

            #[tokio::test]
            async fn sqlite() {
                run(TestDatabase::new(Backend::Sqlite).await.store).await;
            }

            #[tokio::test]
            async fn postgres() {
                run(TestDatabase::new(Backend::Postgres).await.store).await;
            }
        }
    };
}

on_both_backends!(posts_keep_their_wte_employer_and_funding, |store| {
    let case = cross_employer_case(&store, "correct horse battery staple").await;
    let staff = store
        .insert_staff(&NewStaff {
            user: None,
            name: "Sam Link".into(),
            role: StaffRole::LinkWorker,
            specialism: None,
            employer: case.pcn,
            base_practice: None,
            funding: FundingStream::Arrs,
        })
        .await
        .expect("staff");
    let posts = store.staff_in_post().await.expect("posts");
    assert_eq!(posts.len(), 1);
    assert!(
        (posts[0].wte - 1.0).abs() < 1e-12,
        "a new post is full time"
    );
    store
        .set_staff_wte(staff.get(), 60)
        .await
        .expect("set the WTE");
    let posts = store.staff_in_post().await.expect("posts");
    assert!((posts[0].wte - 0.6).abs() < 1e-12);
    assert_eq!(posts[0].role, "link_worker");
    assert_eq!(posts[0].funding, "arrs");
    assert_eq!(posts[0].employer, "Riverside PCN");
    // The table refuses a WTE above full time, and an unknown member of staff is not found.
    assert!(store.set_staff_wte(staff.get(), 101).await.is_err());
    assert!(store.set_staff_wte(staff.get() + 99, 50).await.is_err());
});

on_both_backends!(activity_is_measured_from_casework, |store| {
    let case = cross_employer_case(&store, "correct horse battery staple").await;
    let today = chrono::Utc::now().date_naive();
    for minutes in [60, 30, 30] {
        store
            .record_contact(
                &store.open_case(&case.lead, case.case, true).await.unwrap(),
                &NewContact {
                    contact_type: ContactType::Phone,
                    on: today,
                    minutes,
                    present: "Ada".into(),
                    note: "Talked about groups nearby".into(),
                    sensitive: None,
                },
            )
            .await
            .expect("contact");
    }
    let window = (today - chrono::Days::new(6), today);
    let a = store
        .measured_activity(None, window.0, window.1)
        .await
        .expect("activity");
    assert_eq!((a.referrals, a.accepted, a.open_cases), (1, 1, 1));
    assert_eq!(a.discharged, 0);
    assert_eq!(a.days_to_first_contact, vec![0.0]);
    assert_eq!(a.days_to_open, vec![0.0]);
    assert!((a.weeks - 1.0).abs() < 1e-12);
    store
        .discharge(
            &store.open_case(&case.lead, case.case, true).await.unwrap(),
            &Discharge {
                on: today,
                reason: DischargeReason::GoalsMet,
                destination: DischargeDestination::CommunityGroup,
                gp: GpAgreement::Agreed,
                summary: "Goes to the lunch club".into(),
                override_reason: None,
            },
        )
        .await
        .expect("discharge");
    let a = store
        .measured_activity(None, window.0, window.1)
        .await
        .expect("activity");
    assert_eq!((a.discharged, a.open_cases), (1, 0));
    assert_eq!(a.contacts_per_case, vec![3.0]);
    assert_eq!(a.episode_weeks, vec![0.0]);
    assert_eq!(a.minutes_per_contact, Some(40.0));
    // Another service's window holds nothing.
    let none = store
        .measured_activity(Some(-1), window.0, window.1)
        .await
        .expect("activity");
    assert_eq!((none.referrals, none.discharged), (0, 0));
});
