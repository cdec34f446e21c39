//! The support plan: what matters, goals and their progress and attainment, actions and steps.

use careweave_store::casework::{PlanItem, PlanText};

use super::actions::{CaseAction, ParseContext};
use crate::forms::{choice, date_from, required, FormErrors, Pairs};

/// The plan version the form was loaded with, so a change made meanwhile is a conflict.
fn parse_version(errors: &mut FormErrors, p: &Pairs) -> i64 {
    p.get("version").trim().parse().unwrap_or_else(|_| {
        errors.add("version", "Reload the page: the plan's version is missing");
        -1
    })
}

/// The plan's words: what matters to the person, their priorities and what to do if things go wrong.
pub(super) fn plan(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let what_matters = required(
        e,
        p,
        "what_matters",
        "Enter what matters to the person, in their words",
    );
    Some(CaseAction::Plan {
        version,
        text: PlanText {
            what_matters,
            priorities: p
                .get("priorities")
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            escalation: p.trimmed("escalation"),
        },
    })
}

/// A goal in the plan, with an optional target date.
pub(super) fn goals(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let text = required(e, p, "goal", "Enter the goal");
    let target = if p.get("target-day").is_empty()
        && p.get("target-month").is_empty()
        && p.get("target-year").is_empty()
        && p.get("target").is_empty()
    {
        None
    } else {
        date_from(e, p, "target", "Target date", None)
    };
    Some(CaseAction::PlanItem {
        version,
        item: PlanItem::Goal {
            text,
            target_on: target,
        },
    })
}

/// Progress towards a goal, as a percentage.
pub(super) fn progress(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let goal = p.get("goal_id").trim().parse::<i64>().ok();
    let progress = p
        .get("progress")
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|n| *n <= 100);
    if goal.is_none() {
        e.add("goal_id", "Choose a goal");
    }
    if progress.is_none() {
        e.add("progress", "Enter progress as a percentage from 0 to 100");
    }
    goal.zip(progress)
        .map(|(goal, progress)| CaseAction::PlanItem {
            version,
            item: PlanItem::Progress { goal, progress },
        })
}

/// A goal attainment scaling rating of a goal's outcome.
pub(super) fn attainment(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let goal = p.get("gas_goal").trim().parse::<i64>().ok();
    if goal.is_none() {
        e.add("gas_goal", "Choose a goal");
    }
    let rating = choice(
        e,
        p,
        "gas_level",
        careweave_domain::casework::GoalAttainment::from_code,
        "Select how the outcome compares with what was expected",
    );
    let on = date_from(e, p, "gas", "The date of the rating", Some(ctx.today));
    match (goal, rating, on) {
        (Some(goal), Some(rating), Some(on)) => Some(CaseAction::PlanItem {
            version,
            item: PlanItem::Attainment { goal, rating, on },
        }),
        _ => None,
    }
}

/// An action in the plan: what, who and by when.
pub(super) fn actions(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let text = required(e, p, "action_text", "Enter the action");
    let owner = required(e, p, "owner", "Enter who will do it");
    let due = date_from(e, p, "due", "Due date", None);
    due.map(|due_on| CaseAction::PlanItem {
        version,
        item: PlanItem::Action {
            text,
            owner,
            due_on,
        },
    })
}

/// Marks an action done today.
pub(super) fn action_done(e: &mut FormErrors, p: &Pairs, ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    match p.get("action_id").trim().parse::<i64>() {
        Ok(action) => Some(CaseAction::PlanItem {
            version,
            item: PlanItem::ActionDone {
                action,
                on: ctx.today,
            },
        }),
        Err(_) => {
            e.add("action_id", "Choose an action");
            None
        }
    }
}

/// A step in the week-by-week plan.
pub(super) fn steps(e: &mut FormErrors, p: &Pairs, _ctx: &ParseContext) -> Option<CaseAction> {
    let version = parse_version(e, p);
    let text = required(e, p, "step", "Enter the step");
    let week = p
        .get("week")
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|w| (1..=104).contains(w));
    if week.is_none() {
        e.add("week", "Enter the week number, from 1 to 104");
    }
    week.map(|week| CaseAction::PlanItem {
        version,
        item: PlanItem::Step { week, text },
    })
}
