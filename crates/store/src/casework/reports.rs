//! The team report's raw counts (pages apply disclosure control when they leave the team).

use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::*;
use crate::sql::IdList;

/// A statement over a report period: its first and last day bound as `$1` and `$2`, then the
/// services' ids (a list that starts at `$3`).
fn ranged_query<'q>(
    ids: &IdList,
    sql: &'q str,
    from: &str,
    to: &str,
) -> Query<'q, Any, AnyArguments<'q>> {
    ids.bind(sqlx::query(sql).bind(from.to_owned()).bind(to.to_owned()))
}

impl Store {
    /// Team reports over the services given, over all time (raw counts; the page decides on
    /// disclosure control).
    pub async fn casework_report(
        &self,
        services: &[CaseworkService],
        today: NaiveDate,
    ) -> Result<CaseworkReport, StoreError> {
        self.casework_report_for(services, today, &ReportPeriod::default())
            .await
    }

    /// Team reports over the services given, with what happened (referrals received, cases
    /// opened, discharges, re-entries and the monthly trends) counted within `period`; what is
    /// true now (open caseloads, the waiting list) is always as of `today`.
    pub async fn casework_report_for(
        &self,
        services: &[CaseworkService],
        today: NaiveDate,
        period: &ReportPeriod,
    ) -> Result<CaseworkReport, StoreError> {
        let mut report = CaseworkReport {
            durations: vec![0; careweave_domain::casework::DURATION_BUCKETS.len()],
            ..CaseworkReport::default()
        };
        if services.is_empty() {
            return Ok(report);
        }
        let list = IdList::new(1, services.iter().map(|s| s.id.get()));
        let ids = list.placeholders();
        // Statements over the period bind its first and last day as $1 and $2, then the ids.
        let ranged = IdList::new(3, services.iter().map(|s| s.id.get()));
        let ranged_ids = ranged.placeholders();
        let (from, to) = period.bounds();
        let count = |r: &AnyRow| get_i64(r, "n").map(|n| u64::try_from(n).unwrap_or(0));
        let sql = format!(
            "SELECT status, COUNT(*) AS n FROM casework_cases WHERE service_id IN ({ranged_ids}) \
             AND opened_on >= $1 AND opened_on <= $2 GROUP BY status"
        );
        for r in ranged_query(&ranged, &sql, &from, &to)
            .fetch_all(&self.pool)
            .await?
        {
            report
                .by_status
                .push((get_code(&r, "status", CaseStatus::from_code)?, count(&r)?));
        }
        report.by_status.sort();
        let cap = services.iter().filter_map(|s| s.settings.worker_cap).min();
        let practice_cap = services
            .iter()
            .filter_map(|s| s.settings.practice_cap)
            .min();
        // The open cases' lead workers, joined to what each count groups by.
        let active = |join: &str| {
            format!(
                "FROM casework_workers w {join} JOIN casework_cases c ON c.id = w.case_id \
                 WHERE w.ended_on IS NULL AND w.role = 'lead' AND c.status <> 'discharged' AND c.service_id IN ({ids})"
            )
        };
        for r in list.bind(sqlx::query(&format!(
            "SELECT u.display_name AS label, COUNT(*) AS n {} GROUP BY u.display_name ORDER BY u.display_name",
            active("JOIN users u ON u.id = w.user_id")
        )))
        .fetch_all(&self.pool)
        .await?
        {
            report
                .caseload_by_worker
                .push((r.try_get("label")?, count(&r)?, cap));
        }
        for r in list.bind(sqlx::query(&format!(
            "SELECT o.name AS label, COUNT(*) AS n FROM casework_cases c JOIN people p ON p.id = c.person_id \
             JOIN organisations o ON o.id = p.registered_practice_id \
             WHERE c.status <> 'discharged' AND c.service_id IN ({ids}) GROUP BY o.name ORDER BY o.name"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            report
                .by_practice
                .push((r.try_get("label")?, count(&r)?, practice_cap));
        }
        for r in list
            .bind(sqlx::query(&format!(
                "SELECT o.name AS label, COUNT(*) AS n {} GROUP BY o.name ORDER BY o.name",
                active("JOIN organisations o ON o.id = w.organisation_id")
            )))
            .fetch_all(&self.pool)
            .await?
        {
            report.by_employer.push((r.try_get("label")?, count(&r)?));
        }
        for r in list.bind(sqlx::query(&format!(
            "SELECT COALESCE(st.funding, 'unknown') AS label, COUNT(*) AS n {} GROUP BY COALESCE(st.funding, 'unknown') ORDER BY 1",
            active("LEFT JOIN staff st ON st.user_id = w.user_id")
        )))
        .fetch_all(&self.pool)
        .await?
        {
            let code: String = r.try_get("label")?;
            let label = careweave_domain::FundingStream::from_code(&code)
                .map_or_else(|| "Not recorded".to_owned(), |f| f.label().to_owned());
            report.by_funding.push((label, count(&r)?));
        }
        let mut waiting_days = Vec::new();
        for r in list.bind(sqlx::query(&format!(
            "SELECT received_on FROM casework_referrals WHERE status = 'waiting' AND service_id IN ({ids})"
        )))
        .fetch_all(&self.pool)
        .await?
        {
            waiting_days.push((today - get_date(&r, "received_on")?).num_days());
        }
        waiting_days.sort_unstable();
        report.waiting = waiting_days.len() as u64;
        report.waiting_days = waiting_days;
        let sql = format!(
            "SELECT source, status, COUNT(*) AS n FROM casework_referrals WHERE service_id IN ({ranged_ids}) \
             AND received_on >= $1 AND received_on <= $2 GROUP BY source, status"
        );
        for r in ranged_query(&ranged, &sql, &from, &to)
            .fetch_all(&self.pool)
            .await?
        {
            let source = get_code(&r, "source", ReferralSource::from_code)?;
            let n = count(&r)?;
            match report.sources.iter_mut().find(|(s, _)| *s == source) {
                Some((_, total)) => *total += n,
                None => report.sources.push((source, n)),
            }
            match r.try_get::<String, _>("status")?.as_str() {
                "redirected" => report.redirected += n,
                "declined" => report.declined += n,
                _ => {}
            }
        }
        report.sources.sort();
        // A re-entry counts in the period its latest episode started in (when it was reopened);
        // a duration in the period its discharge falls in.
        for r in list
            .bind(sqlx::query(&format!(
                "SELECT episode_started_on, discharged_on, reopen_count FROM casework_cases \
                 WHERE service_id IN ({ids}) AND (status = 'discharged' OR reopen_count > 0)"
            )))
            .fetch_all(&self.pool)
            .await?
        {
            let started = get_date(&r, "episode_started_on")?;
            if get_i64(&r, "reopen_count")? > 0 && period.holds(started) {
                report.reopened += 1;
            }
            if let Some(end) = opt_date(&r, "discharged_on")?.filter(|d| period.holds(*d)) {
                let days = (end - started).num_days();
                report.durations[careweave_domain::casework::duration_bucket(days)] += 1;
            }
        }
        // Monthly trends: referrals received, cases opened and discharges, by calendar month.
        for (column, table, slot) in [
            ("received_on", "casework_referrals", 0),
            ("opened_on", "casework_cases", 1),
            ("discharged_on", "casework_cases", 2),
        ] {
            let sql = format!(
                "SELECT SUBSTR({column}, 1, 7) AS month, COUNT(*) AS n FROM {table} \
                 WHERE service_id IN ({ranged_ids}) AND {column} >= $1 AND {column} <= $2 \
                 GROUP BY SUBSTR({column}, 1, 7)"
            );
            for r in ranged_query(&ranged, &sql, &from, &to)
                .fetch_all(&self.pool)
                .await?
            {
                let month: String = r.try_get("month")?;
                let n = count(&r)?;
                match report.by_month.iter_mut().find(|m| m.0 == month) {
                    Some(m) => m.1[slot] += n,
                    None => {
                        let mut counts = [0; 3];
                        counts[slot] = n;
                        report.by_month.push((month, counts));
                    }
                }
            }
        }
        report.by_month.sort();
        Ok(report)
    }
}
