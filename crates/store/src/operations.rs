//! Figures for the people who run the service rather than those who use it: counts a monitoring
//! system scrapes (see `web::metrics`). They are deployment-wide counts by organisation with no
//! personal data, so they are not audited and take no principal.

use std::collections::BTreeMap;

use careweave_domain::lone_working::{Visit, VisitStatus};
use careweave_domain::OrganisationId;
use chrono::{NaiveDateTime, NaiveTime};

use crate::change::get_code;
use crate::lone_working::opt_time;
use crate::{get_date, get_i64, Store, StoreError};

impl Store {
    /// Read audit rows waiting to be written (see `audit`'s group-commit queue).
    #[must_use]
    pub fn audit_queue_depth(&self) -> usize {
        self.audit_queue.depth()
    }

    /// Lone-working visits overdue at `now` (the deployment's wall-clock time), counted by the
    /// visiting worker's employers. The alert documented in docs/operations.md pages someone when
    /// this stays above zero, so an overdue visit is noticed even when no supervisor has the app
    /// open. A worker with two employers counts under both, as both must act.
    pub async fn overdue_visits_by_organisation(
        &self,
        now: NaiveDateTime,
    ) -> Result<Vec<(OrganisationId, usize)>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.visit_on, v.back_by, v.status, m.organisation_id FROM casework_visits v \
             JOIN (SELECT DISTINCT user_id, organisation_id FROM memberships) m ON m.user_id = v.user_id \
             WHERE v.status IN ('planned', 'checked_in') AND v.visit_on <= $1 AND v.back_by IS NOT NULL",
        )
        .bind(now.date().to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
        for r in &rows {
            let visit = Visit {
                on: get_date(r, "visit_on")?,
                back_by: opt_time(r, "back_by")?.unwrap_or(NaiveTime::MIN),
                status: get_code(r, "status", VisitStatus::from_code)?,
            };
            if visit.is_overdue(now) {
                *counts.entry(get_i64(r, "organisation_id")?).or_default() += 1;
            }
        }
        Ok(counts
            .into_iter()
            .map(|(org, n)| (OrganisationId::new(org), n))
            .collect())
    }
}
