//! The readable letter of a message: plain text under the PRSB Social Prescribing Information
//! Standard's headings, written once when the message is queued and shown as stored. Headings
//! are lines of their own followed by a blank line's paragraphs, so a page can show the letter
//! without parsing it and a folder drop can hand it to a person as it is.

use std::fmt::Write as _;

use careweave_domain::clock::Tz;
use chrono::{DateTime, Utc};

use super::MessageKind;
use crate::casework::GpMessage;

fn date(d: chrono::NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// A heading of the message and its lines (paragraphs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: &'static str,
    pub lines: Vec<String>,
}

/// The headings for the letter's readers: the sender, the recipient and the time.
fn sent(m: &GpMessage, now: DateTime<Utc>, zone: Tz) -> Section {
    Section {
        heading: "Sent",
        lines: vec![
            format!(
                "From: {} ({}), {}",
                m.service,
                m.service_kind.label(),
                m.provider
            ),
            format!("To: {}", practice(m)),
            format!(
                "On: {}",
                now.with_timezone(&zone).format("%-d %B %Y at %H:%M")
            ),
        ],
    }
}

fn practice(m: &GpMessage) -> String {
    match &m.practice_ods {
        Some(ods) => format!("{} (ODS code {ods})", m.practice),
        None => m.practice.clone(),
    }
}

/// The letter of `m`, dated `now` in the deployment's time zone: a title line, then each
/// heading on its own line after a blank line, followed by its lines.
#[must_use]
pub fn render(m: &GpMessage, now: DateTime<Utc>, zone: Tz) -> String {
    let mut out = format!("Message to the GP: {}", m.event.label());
    for s in std::iter::once(sent(m, now, zone)).chain(sections(m)) {
        let _ = write!(out, "\n\n{}", s.heading);
        for l in &s.lines {
            let _ = write!(out, "\n{l}");
        }
    }
    out.push('\n');
    out
}

/// The message's content under the PRSB Social Prescribing Information Standard's headings, in
/// order; a heading with nothing to say is left out. Detail headings are empty without consent,
/// because the message's detail fields are. The letter and the Bundle's Composition both read
/// these, so they always say the same.
#[must_use]
pub fn sections(m: &GpMessage) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut add = |heading: &'static str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push(Section { heading, lines });
        }
    };
    let mut person = vec![
        format!("Name: {}", m.person_name),
        format!("NHS number: {}", m.nhs_number.formatted()),
        format!("Date of birth: {}", date(m.date_of_birth)),
        format!("Gender: {}", m.sex.label()),
    ];
    if let Some(p) = &m.postcode {
        person.push(format!("Address: postcode {p}"));
    }
    person.push(format!("GP practice: {}", practice(m)));
    add("Person demographics", person);
    let mut referral = vec![format!(
        "Received {} from {} ({}).",
        date(m.referral_received_on),
        m.referrer,
        m.referral_source.label()
    )];
    referral.extend(m.reason.iter().map(|r| format!("Reason for referral: {r}")));
    match m.event {
        MessageKind::ReferralAccepted => referral.push("The service accepted the referral.".into()),
        MessageKind::ReferralDeclined => referral.push("The service declined the referral.".into()),
        MessageKind::Discharge => {}
    }
    referral.extend(
        m.decision
            .iter()
            .map(|d| format!("Reason for the decision: {d}")),
    );
    add("Referral details", referral);
    add(
        "Consent",
        vec![if m.share_detail {
            "The person agreed to share details of their support with their GP.".to_owned()
        } else {
            "The person did not agree to share details with their GP: this message holds only \
             dates, the service and national codes."
                .to_owned()
        }],
    );
    add(
        "Coded entries",
        m.codes
            .iter()
            .map(|(code, term)| format!("SNOMED CT {code}: {term}"))
            .collect(),
    );
    add(
        "Needs and concerns",
        m.needs.iter().filter(|n| !n.is_empty()).cloned().collect(),
    );
    add(
        "What matters to me",
        m.what_matters
            .iter()
            .filter(|w| !w.is_empty())
            .cloned()
            .collect(),
    );
    if let Some(started) = m.episode_started_on {
        let by_type: Vec<String> = m
            .contacts
            .iter()
            .map(|(t, n)| format!("{} {n}", t.label().to_lowercase()))
            .collect();
        let mut support: Vec<String> = m
            .lead_worker
            .iter()
            .map(|l| format!("Lead worker: {l}."))
            .collect();
        support.push(format!(
            "Support from {}: {} contact{}{}.",
            date(started),
            m.total_contacts,
            if m.total_contacts == 1 { "" } else { "s" },
            if by_type.is_empty() {
                String::new()
            } else {
                format!(" ({})", by_type.join(", "))
            }
        ));
        add("Support offered", support);
    }
    add(
        "Outcome measures",
        m.measures
            .iter()
            .map(|x| {
                let scores: Vec<String> =
                    x.scores.iter().map(|(s, v)| format!("{s} {v}")).collect();
                format!(
                    "{} on {} ({}): {}",
                    x.instrument,
                    date(x.taken_on),
                    x.point.to_lowercase(),
                    scores.join("; ")
                )
            })
            .collect(),
    );
    let mut outcomes: Vec<String> = m
        .goals
        .iter()
        .map(|g| format!("Goal: {} ({}% done)", g.text, g.progress))
        .collect();
    outcomes.extend(
        m.outcomes
            .iter()
            .filter_map(|d| d.change.map(|c| format!("{}: {}", d.label, c.describe()))),
    );
    add("Outcomes", outcomes);
    add(
        "Services the person was connected to",
        m.connected_services.clone(),
    );
    add("Actions asked of the GP", m.gp_actions.clone());
    if let Some(d) = &m.discharge {
        let mut lines = vec![format!(
            "Discharged on {}. Reason: {}. Next: {}. {}.",
            date(d.on),
            d.reason.label(),
            d.destination.label(),
            d.gp.label()
        )];
        if !d.summary.is_empty() {
            lines.push(d.summary.clone());
        }
        add("Discharge", lines);
    }
    if let Some(a) = &m.author {
        add(
            "Completed by",
            vec![
                format!(
                    "{}, {} at {}",
                    a.name,
                    a.role.to_lowercase(),
                    a.organisation
                ),
                format!("Contact: {}", a.contact),
            ],
        );
    }
    out
}
