//! Reviews, holds, discharge and reopening: the case's course over time.

use careweave_domain::casework::{DischargeDestination, DischargeReason, GpAgreement, Intensity};
use careweave_store::casework::Discharge;

use super::actions::{CaseAction, ParseContext};
use crate::forms::{choice, date_from, required, FormErrors, Pairs};

/// A review: its date, the intensity of support from now on and a summary.
pub(super) fn reviews(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let on = date_from(e, p, "reviewed", "Review date", Some(ctx.today));
    let intensity = choice(
        e,
        p,
        "review_intensity",
        Intensity::from_code,
        "Select the intensity of support from now on",
    );
    let summary = required(e, p, "review_summary", "Enter a summary of the review");
    on.zip(intensity).map(|(on, intensity)| CaseAction::Review {
        on,
        intensity,
        summary,
    })
}

/// Puts the case on hold, or resumes it, with the reason.
fn hold_or_resume(e: &mut FormErrors, p: &Pairs, hold: bool) -> Option<CaseAction> {
    let reason = required(e, p, "hold_reason", "Enter the reason");
    Some(CaseAction::Hold { hold, reason })
}

pub(super) fn hold(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    hold_or_resume(e, p, true)
}

pub(super) fn resume(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    hold_or_resume(e, p, false)
}

/// Discharge: reason, destination, the GP's agreement, date and outcomes.
pub(super) fn discharge(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let reason = choice(
        e,
        p,
        "discharge_reason",
        DischargeReason::from_code,
        "Select the reason for discharge",
    );
    let destination = choice(
        e,
        p,
        "destination",
        DischargeDestination::from_code,
        "Select where the person goes next",
    );
    let gp = choice(
        e,
        p,
        "gp_agreement",
        GpAgreement::from_code,
        "Select whether the GP agreed to the discharge",
    );
    let on = date_from(e, p, "discharged", "Discharge date", Some(ctx.today));
    match (reason, destination, gp, on) {
        (Some(reason), Some(destination), Some(gp), Some(on)) => {
            Some(CaseAction::Discharge(Discharge {
                on,
                reason,
                destination,
                gp,
                summary: p.trimmed("outcomes"),
                // Only asked for when the store warns (see `Store::discharge`); an empty box is
                // no confirmation.
                override_reason: Some(p.trimmed("discharge_override")).filter(|o| !o.is_empty()),
            }))
        }
        _ => None,
    }
}

/// Reopens a discharged case, with the reason.
pub(super) fn reopen(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    Some(CaseAction::Reopen(required(
        e,
        p,
        "reopen_reason",
        "Enter why the case is being reopened",
    )))
}
