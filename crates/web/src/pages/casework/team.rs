//! The case's team and household: allocating workers, carers, and safety flags for visits.

use careweave_domain::casework::CaseRole;
use careweave_store::casework::Carer;

use super::actions::{CaseAction, ParseContext};
use crate::forms::{choice, required, FormErrors, Pairs};

/// Adds a worker to the case's team in a role (a lead over their cap must be confirmed).
pub(super) fn allocate(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let user = p.get("worker").trim().parse::<i64>().ok();
    if user.is_none() {
        e.add("worker", "Select a worker");
    }
    let role = choice(
        e,
        p,
        "role",
        CaseRole::from_code,
        "Select the worker's role on the case",
    );
    user.zip(role).map(|(u, role)| CaseAction::Allocate {
        user: careweave_domain::UserId::new(u),
        role,
        confirm: p.has("confirm_over_capacity", "yes"),
    })
}

/// A carer, and whether the person wants them involved.
pub(super) fn carers(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let name = required(e, p, "carer_name", "Enter the carer's name");
    let relationship = required(
        e,
        p,
        "relationship",
        "Enter the carer's relationship to the person",
    );
    let involve = p.trimmed("involve");
    if !["yes", "no", "ask"].contains(&involve.as_str()) {
        e.add(
            "involve",
            "Select whether the person wants the carer involved",
        );
    }
    Some(CaseAction::Carer(Carer {
        name,
        relationship,
        contact: p.trimmed("carer_contact"),
        involve,
    }))
}

/// A safety flag on the person or their address, so colleagues visit in pairs.
pub(super) fn flags(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let reason = required(
        e,
        p,
        "safety_reason",
        "Enter what colleagues need to know before visiting",
    );
    let on = p.trimmed("safety_on");
    if !["person", "address"].contains(&on.as_str()) {
        e.add(
            "safety_on",
            "Select whether the flag is on the person or their address",
        );
    }
    Some(CaseAction::Flag {
        on_address: on == "address",
        reason,
    })
}
