//! The supply side of workforce planning (issue 18): the staff in post with their WTE, employer and
//! funding stream, and the activity the team actually delivers, measured from casework, so that the
//! model's assumptions can be checked against it ("assumed 8 contacts, measured 11.2").
//!
//! Everything here is an aggregate over staff or cases; no person's record is read, so nothing is
//! audited against a person. Counts of cases leave through `SafeCount` on the pages that show them.

use crate::{get_i64, parse_date, Store, StoreError};
use chrono::NaiveDate;
use sqlx::Row;

/// One member of staff as a post: role and funding codes as `domain::StaffRole` and
/// `domain::FundingStream` write them.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffPost {
    pub staff_id: i64,
    pub role: String,
    pub wte: f64,
    pub employer: String,
    pub funding: String,
}

/// What casework measured over a window, for one service or all of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// Referrals received in the window, and how triage answered them.
    pub referrals: u64,
    pub accepted: u64,
    pub declined: u64,
    pub redirected: u64,
    /// The window's length in weeks, so that referrals a week can be worked out.
    pub weeks: f64,
    /// Cases discharged in the window: the complete episodes the means below come from.
    pub discharged: u64,
    /// Contacts per discharged case (its latest episode).
    pub contacts_per_case: Vec<f64>,
    /// Weeks from the episode's start to discharge.
    pub episode_weeks: Vec<f64>,
    /// Days from the referral being received to the case's first contact, for cases opened in the
    /// window that have had one.
    pub days_to_first_contact: Vec<f64>,
    /// Days from the referral being received to the case being opened (the wait for a worker).
    pub days_to_open: Vec<f64>,
    /// Minutes per contact over the contacts of the discharged cases.
    pub minutes_per_contact: Option<f64>,
    /// Cases open at the end of the window.
    pub open_cases: u64,
}

/// The mean of a list, `None` when it is empty.
#[must_use]
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        #[allow(clippy::cast_precision_loss)]
        Some(values.iter().sum::<f64>() / values.len() as f64)
    }
}

#[allow(clippy::cast_precision_loss)]
fn days(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64
}

impl Store {
    /// Every member of staff as a post, by role then name.
    ///
    /// # Errors
    /// A database failure.
    pub async fn staff_in_post(&self) -> Result<Vec<StaffPost>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.role, s.wte_hundredths, o.name AS employer, s.funding FROM staff s \
             JOIN organisations o ON o.id = s.employer_id ORDER BY s.role, s.name, s.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StaffPost {
                    staff_id: get_i64(r, "id")?,
                    role: r.try_get("role")?,
                    #[allow(clippy::cast_precision_loss)]
                    wte: get_i64(r, "wte_hundredths")? as f64 / 100.0,
                    employer: r.try_get("employer")?,
                    funding: r.try_get("funding")?,
                })
            })
            .collect()
    }

    /// Records a post's WTE in hundredths (1 to 100); the table's check refuses anything else.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown member of staff, a database error for a value out
    /// of range.
    pub async fn set_staff_wte(&self, staff_id: i64, hundredths: i64) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE staff SET wte_hundredths = $1 WHERE id = $2")
            .bind(hundredths)
            .bind(staff_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("member of staff"));
        }
        Ok(())
    }

    /// The activity casework measured from `from` to `to` (inclusive), for one casework service or,
    /// with `None`, all of them.
    ///
    /// # Errors
    /// A database failure or a stored date that does not parse.
    pub async fn measured_activity(
        &self,
        service: Option<i64>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Activity, StoreError> {
        let mut a = Activity {
            weeks: (days(from, to) + 1.0) / 7.0,
            ..Activity::default()
        };
        let (from_text, to_text) = (from.to_string(), to.to_string());
        let wanted = |s: i64| service.is_none_or(|w| w == s);
        let rows = sqlx::query(
            "SELECT service_id, status FROM casework_referrals WHERE received_on >= $1 AND received_on <= $2",
        )
        .bind(&from_text)
        .bind(&to_text)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            if !wanted(get_i64(r, "service_id")?) {
                continue;
            }
            a.referrals += 1;
            match r.try_get::<String, _>("status")?.as_str() {
                "accepted" => a.accepted += 1,
                "declined" => a.declined += 1,
                "redirected" => a.redirected += 1,
                _ => {}
            }
        }
        let rows = sqlx::query(
            "SELECT c.service_id, c.status, c.opened_on, c.episode_started_on, c.discharged_on, r.received_on, \
             (SELECT COUNT(*) FROM casework_contacts k WHERE k.case_id = c.id AND k.contact_on >= c.episode_started_on) AS contacts, \
             (SELECT CAST(COALESCE(SUM(k.minutes), 0) AS BIGINT) FROM casework_contacts k WHERE k.case_id = c.id AND k.contact_on >= c.episode_started_on) AS minutes, \
             (SELECT MIN(k.contact_on) FROM casework_contacts k WHERE k.case_id = c.id) AS first_contact \
             FROM casework_cases c JOIN casework_referrals r ON r.id = c.referral_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let (mut contacts, mut minutes) = (0i64, 0i64);
        for r in &rows {
            if !wanted(get_i64(r, "service_id")?) {
                continue;
            }
            let opened = parse_date("opened_on", &r.try_get::<String, _>("opened_on")?)?;
            let received = parse_date("received_on", &r.try_get::<String, _>("received_on")?)?;
            let episode = parse_date(
                "episode_started_on",
                &r.try_get::<String, _>("episode_started_on")?,
            )?;
            let discharged = r
                .try_get::<Option<String>, _>("discharged_on")?
                .map(|d| parse_date("discharged_on", &d))
                .transpose()?;
            let status: String = r.try_get("status")?;
            if (from..=to).contains(&opened) {
                a.days_to_open.push(days(received, opened));
                if let Some(first) = r.try_get::<Option<String>, _>("first_contact")? {
                    a.days_to_first_contact
                        .push(days(received, parse_date("contact_on", &first)?));
                }
            }
            match discharged {
                Some(d) if status == "discharged" && (from..=to).contains(&d) => {
                    a.discharged += 1;
                    let n = get_i64(r, "contacts")?;
                    contacts += n;
                    minutes += get_i64(r, "minutes")?;
                    #[allow(clippy::cast_precision_loss)]
                    a.contacts_per_case.push(n as f64);
                    a.episode_weeks.push(days(episode, d) / 7.0);
                }
                _ if status != "discharged" && opened <= to => a.open_cases += 1,
                _ => {}
            }
        }
        if contacts > 0 {
            #[allow(clippy::cast_precision_loss)]
            {
                a.minutes_per_contact = Some(minutes as f64 / contacts as f64);
            }
        }
        Ok(a)
    }
}
