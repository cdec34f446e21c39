//! The demo's significant events and good news: a handful over the last three months from both
//! services, several themes, two escalated to the board (one already taken), so that the events
//! list, an event page and the board report have something to show. Everything goes through the
//! same store functions the pages use, so it is audited like real work.

use careweave_domain::access::Principal;
use careweave_domain::casework::CaseId;
use careweave_domain::events::EventKind;
use careweave_domain::ServiceId;
use careweave_store::events::NewEvent;
use careweave_store::Store;
use chrono::{Days, NaiveDate};

/// Who records the demo's events and where.
pub struct EventsTeam<'a> {
    pub linkworker: &'a Principal,
    pub caseworker: &'a Principal,
    pub supervisor: &'a Principal,
    pub social: ServiceId,
    pub focused: ServiceId,
    /// A social prescribing case the link worker leads.
    pub social_case: Option<CaseId>,
}

/// One of the demo's events, as its recorder types it.
struct DemoEvent<'a> {
    who: &'a Principal,
    service: ServiceId,
    /// Recorded from the link worker's case rather than on its own.
    on_case: bool,
    kind: EventKind,
    days_ago: u64,
    themes: &'static [&'static str],
    description: &'static str,
    escalation: Option<&'static str>,
}

/// Loads the events; `today` is the demo's today.
pub async fn load(store: &Store, team: &EventsTeam<'_>, today: NaiveDate) -> anyhow::Result<()> {
    let events = [
        DemoEvent {
            who: team.linkworker,
            service: team.social,
            on_case: true,
            kind: EventKind::Significant,
            days_ago: 9,
            themes: &["housing_delays", "service_failed"],
            description: "Waited eleven weeks for a housing needs assessment while sleeping on a friend's sofa.",
            escalation: Some("The third housing wait over ten weeks this quarter"),
        },
        DemoEvent {
            who: team.linkworker,
            service: team.social,
            on_case: false,
            kind: EventKind::Significant,
            days_ago: 40,
            themes: &["benefit_sanctions"],
            description: "Universal Credit sanctioned for a missed appointment that fell during a hospital stay.",
            escalation: Some("Sanctions while in hospital: a pattern to raise with the DWP partnership manager"),
        },
        DemoEvent {
            who: team.caseworker,
            service: team.focused,
            on_case: false,
            kind: EventKind::Significant,
            days_ago: 25,
            themes: &["mental_health_waits"],
            description: "Told the wait for talking therapy is now 26 weeks.",
            escalation: None,
        },
        DemoEvent {
            who: team.caseworker,
            service: team.focused,
            on_case: false,
            kind: EventKind::Significant,
            days_ago: 60,
            themes: &["cost_of_living", "digital_exclusion"],
            description: "Could not apply for help with fuel costs because the form is only online.",
            escalation: None,
        },
        DemoEvent {
            who: team.linkworker,
            service: team.social,
            on_case: false,
            kind: EventKind::GoodNews,
            days_ago: 15,
            themes: &["partnership_working"],
            description: "The council's housing officer joined a home visit and settled the repairs the same week.",
            escalation: None,
        },
        DemoEvent {
            who: team.linkworker,
            service: team.social,
            on_case: false,
            kind: EventKind::GoodNews,
            days_ago: 70,
            themes: &["loneliness"],
            description: "A walking group started by three people the team supported now meets every week.",
            escalation: None,
        },
    ];
    let mut taken = None;
    for e in events {
        let id = store
            .record_event(
                e.who,
                &NewEvent {
                    kind: e.kind,
                    service: e.service,
                    case: if e.on_case { team.social_case } else { None },
                    practice: None,
                    occurred_on: today - Days::new(e.days_ago),
                    description: e.description.to_owned(),
                    themes: e.themes.iter().map(|t| (*t).to_owned()).collect(),
                    escalation: e.escalation.map(str::to_owned),
                },
            )
            .await?;
        if e.days_ago == 40 {
            taken = Some(id);
        }
    }
    // The older escalation went to last month's board; the newer one waits for the supervisor.
    if let Some(id) = taken {
        store
            .mark_taken_to_board(team.supervisor, id, today - Days::new(20))
            .await?;
    }
    Ok(())
}
