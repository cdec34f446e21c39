//! Contacts, planned visits and assessments: what happened with the person, and when.

use careweave_domain::casework::{ContactType, DomainScore};
use careweave_domain::consent::SensitiveCategory;
use careweave_store::casework::{NewAssessment, NewContact};
use careweave_store::lone_working::NewVisit;

use super::actions::{CaseAction, ParseContext};
use crate::forms::{choice, date_from, required, time_from, FormErrors, Pairs};

/// A contact with the person: its type, date, length, who was there and the note.
pub(super) fn contacts(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let contact_type = choice(
        e,
        p,
        "contact_type",
        ContactType::from_code,
        "Select the type of contact",
    );
    let on = date_from(e, p, "contact", "Contact date", Some(ctx.today));
    let minutes = match p.get("minutes").trim().parse::<u32>() {
        Ok(m) if (1..=1440).contains(&m) => Some(m),
        _ => {
            e.add(
                "minutes",
                "Enter the length of the contact in minutes, from 1 to 1440",
            );
            None
        }
    };
    // A note about sexual health or domestic abuse is read only by its author, the lead
    // worker and the service's supervisors unless the person agreed to share more.
    let sensitive = match p.get("sensitive").trim() {
        "" | "none" => Ok(None),
        code => SensitiveCategory::from_code(code)
            .filter(|c| SensitiveCategory::MARKABLE.contains(c))
            .map(Some)
            .ok_or(()),
    };
    if sensitive.is_err() {
        e.add("sensitive", "Select whether the note is sensitive");
    }
    match (contact_type, on, minutes, sensitive) {
        (Some(contact_type), Some(on), Some(minutes), Ok(sensitive)) => {
            Some(CaseAction::Contact(NewContact {
                contact_type,
                on,
                minutes,
                present: p.trimmed("present"),
                note: p.trimmed("note"),
                sensitive,
            }))
        }
        _ => None,
    }
}

/// A planned visit under the lone-working rules: when, where, when back, and who goes too.
pub(super) fn visits(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let contact_type = choice(
        e,
        p,
        "visit_type",
        ContactType::from_code,
        "Select the type of visit",
    );
    let on = date_from(e, p, "visit", "Visit date", None);
    if on.is_some_and(|d| d < ctx.today) {
        e.add("visit-day", "Visit date must be today or in the future");
    }
    let starts_at = time_from(e, p, "visit_start", "the time the visit starts");
    let back_by = time_from(e, p, "visit_back", "the time you expect to be back");
    if let (Some(s), Some(b)) = (starts_at, back_by) {
        if b <= s {
            e.add(
                "visit_back",
                "The time you expect to be back must be after the start",
            );
        }
    }
    let place = required(
        e,
        p,
        "visit_place",
        "Enter where the visit is, so a colleague could find you",
    );
    let companion = match p.get("companion").trim() {
        "" => None,
        c => match c.parse::<i64>() {
            Ok(id) => Some(careweave_domain::UserId::new(id)),
            Err(_) => {
                e.add("companion", "Choose a colleague from the list");
                None
            }
        },
    };
    match (contact_type, on, starts_at, back_by) {
        (Some(contact_type), Some(on), Some(starts_at), Some(back_by)) => {
            Some(CaseAction::Visit(NewVisit {
                contact_type,
                on,
                starts_at,
                back_by,
                place,
                companion,
                note: p.trimmed("visit_note"),
            }))
        }
        _ => None,
    }
}

/// An assessment: a score from 1 to 5 on each life domain scored, and strengths.
pub(super) fn assessments(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let on = date_from(e, p, "assessed", "Assessment date", Some(ctx.today));
    let mut scores = Vec::new();
    for (code, label) in ctx.domains {
        let v = p.get(&format!("score_{code}")).trim();
        if v.is_empty() {
            continue;
        }
        match v
            .parse::<u8>()
            .map_err(|_| ())
            .and_then(|n| DomainScore::new(label, n).map_err(|_| ()))
        {
            Ok(s) => scores.push((code.clone(), s)),
            Err(()) => e.add(
                &format!("score_{code}"),
                format!("{label} must be a score from 1 (struggling) to 5 (thriving)"),
            ),
        }
    }
    if scores.is_empty() && e.is_empty() {
        if let Some((code, _)) = ctx.domains.first() {
            e.add(&format!("score_{code}"), "Score at least one life domain");
        }
    }
    on.map(|on| {
        CaseAction::Assessment(NewAssessment {
            on,
            scores,
            strengths: p.trimmed("strengths"),
        })
    })
}
