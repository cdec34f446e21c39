//! Casework services' settings (eligibility rule, review interval, capacity caps, partners), the
//! deployment's prioritisation and the life domains, and the grant a principal holds on a service.

use super::*;

impl Store {
    /// Adds casework settings to a service of the registry.
    pub async fn add_casework_settings(
        &self,
        service: ServiceId,
        settings: &CaseworkSettings,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO casework_services (service_id, kind, min_need_domains, review_interval_days, \
             worker_cap, practice_cap) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(service.get())
        .bind(settings.kind.code())
        .bind(match settings.rule {
            EligibilityRule::Open => None,
            EligibilityRule::NeedsInDomains(n) => Some(i64::from(n)),
        })
        .bind(i64::from(settings.review_interval.get()))
        .bind(settings.worker_cap.map(i64::from))
        .bind(settings.practice_cap.map(i64::from))
        .execute(&mut *tx)
        .await?;
        for p in &settings.partners {
            sqlx::query(
                "INSERT INTO casework_service_partners (service_id, organisation_id) VALUES ($1, $2)",
            )
            .bind(service.get())
            .bind(p.get())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.settings.clear();
        Ok(())
    }

    /// Every casework service, by name. Served from the settings cache (see [`crate::cache`]).
    pub async fn casework_services(&self) -> Result<Vec<CaseworkService>, StoreError> {
        if let Some(services) = self.settings.services.get() {
            return Ok(services.to_vec());
        }
        let services: std::sync::Arc<[CaseworkService]> =
            self.read_casework_services().await?.into();
        self.settings.services.put(services.clone());
        Ok(services.to_vec())
    }

    pub(super) async fn read_casework_services(&self) -> Result<Vec<CaseworkService>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.name, s.provider_id, o.name AS provider_name, s.team_id, t.name AS team_name, \
             c.kind, c.min_need_domains, c.review_interval_days, c.worker_cap, c.practice_cap \
             FROM casework_services c JOIN services s ON s.id = c.service_id \
             JOIN organisations o ON o.id = s.provider_id LEFT JOIN teams t ON t.id = s.team_id \
             ORDER BY s.name",
        )
        .fetch_all(&self.pool)
        .await?;
        let partners =
            sqlx::query("SELECT service_id, organisation_id FROM casework_service_partners")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let id = get_i64(r, "id")?;
                let interval = get_i64(r, "review_interval_days")?;
                Ok(CaseworkService {
                    id: ServiceId::new(id),
                    name: r.try_get("name")?,
                    provider: OrganisationId::new(get_i64(r, "provider_id")?),
                    provider_name: r.try_get("provider_name")?,
                    team: r.try_get::<Option<i64>, _>("team_id")?.map(TeamId::new),
                    team_name: r.try_get("team_name")?,
                    settings: CaseworkSettings {
                        kind: get_code(r, "kind", ServiceKind::from_code)?,
                        rule: match r.try_get::<Option<i64>, _>("min_need_domains")? {
                            Some(n) => {
                                EligibilityRule::NeedsInDomains(u8::try_from(n).unwrap_or(u8::MAX))
                            }
                            None => EligibilityRule::Open,
                        },
                        review_interval: ReviewInterval::days(u32_of(interval)).map_err(|_| {
                            StoreError::Corrupt {
                                column: "casework_services.review_interval_days",
                                detail: interval.to_string(),
                            }
                        })?,
                        worker_cap: r.try_get::<Option<i64>, _>("worker_cap")?.map(u32_of),
                        practice_cap: r.try_get::<Option<i64>, _>("practice_cap")?.map(u32_of),
                        partners: partners
                            .iter()
                            .filter(|p| get_i64(p, "service_id").ok() == Some(id))
                            .map(|p| get_i64(p, "organisation_id").map(OrganisationId::new))
                            .collect::<Result<_, _>>()?,
                    },
                })
            })
            .collect()
    }

    pub(crate) async fn casework_service(
        &self,
        id: ServiceId,
    ) -> Result<CaseworkService, ActionError> {
        if let Some(found) = self
            .casework_services()
            .await?
            .into_iter()
            .find(|s| s.id == id)
        {
            return Ok(found);
        }
        // A service added by another process may not be in this one's cache yet: ask once more.
        self.settings.services.clear();
        self.casework_services()
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(ActionError::NotFound("The service"))
    }

    /// The services whose waiting list `who` works.
    pub async fn services_worked_by(
        &self,
        who: &Principal,
    ) -> Result<Vec<CaseworkService>, StoreError> {
        let mine = clinical_orgs(who);
        Ok(self
            .casework_services()
            .await?
            .into_iter()
            .filter(|s| s.organisations().iter().any(|o| mine.contains(o)))
            .collect())
    }

    /// The waiting list's weights, from the settings cache.
    pub async fn prioritisation(&self) -> Result<Prioritisation, StoreError> {
        if let Some(p) = self.settings.prioritisation.get() {
            return Ok(p);
        }
        let r = sqlx::query("SELECT * FROM casework_settings WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let p = Prioritisation {
            urgent: u32_of(get_i64(&r, "urgent")?),
            soon: u32_of(get_i64(&r, "soon")?),
            routine: u32_of(get_i64(&r, "routine")?),
            per_week_waiting: u32_of(get_i64(&r, "per_week_waiting")?),
            per_risk_flag: u32_of(get_i64(&r, "per_risk_flag")?),
            cohort: u32_of(get_i64(&r, "cohort")?),
        };
        self.settings.prioritisation.put(p);
        Ok(p)
    }

    /// Changes the waiting list's weights; only supervisors may, and the change is audited.
    pub async fn set_prioritisation(
        &self,
        who: &Principal,
        p: &Prioritisation,
    ) -> Result<(), ActionError> {
        if !who.has_role(Role::Supervisor) {
            return Err(ActionError::Denied);
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE casework_settings SET urgent = $1, soon = $2, routine = $3, per_week_waiting = $4, \
             per_risk_flag = $5, cohort = $6 WHERE id = 1",
        )
        .bind(i64::from(p.urgent))
        .bind(i64::from(p.soon))
        .bind(i64::from(p.routine))
        .bind(i64::from(p.per_week_waiting))
        .bind(i64::from(p.per_risk_flag))
        .bind(i64::from(p.cohort))
        .execute(&mut *tx)
        .await?;
        audit_with(
            &mut *tx,
            &AuditEvent {
                user: Some(who.user),
                action: AuditAction::Update,
                entity: "casework_settings",
                entity_id: None,
                reason: "waiting list prioritisation changed".to_owned(),
            },
        )
        .await?;
        tx.commit().await?;
        self.settings.clear();
        Ok(())
    }

    /// The configured life domains of the holistic assessment, in order, from the settings cache.
    pub async fn life_domains(&self) -> Result<Vec<(String, String)>, StoreError> {
        if let Some(domains) = self.settings.life_domains.get() {
            return Ok(domains.to_vec());
        }
        let domains =
            sqlx::query("SELECT code, label FROM casework_life_domains ORDER BY position")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("code")?, r.try_get("label")?)))
                .collect::<Result<std::sync::Arc<[(String, String)]>, StoreError>>()?;
        self.settings.life_domains.put(domains.clone());
        Ok(domains.to_vec())
    }
}
