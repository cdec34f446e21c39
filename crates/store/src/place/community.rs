//! Community views: the configurable theme list, survey answers kept without identifiers with
//! their demographic groups and themes, the raw theme counts (the page applies disclosure
//! control), and roadshow and engagement notes.

use careweave_domain::place::NoteKind;
use careweave_place::survey::{SurveyImport, Theme};
use chrono::NaiveDate;
use sqlx::Row;

use crate::audit::AuditAction;
use crate::change::ActionError;
use crate::{get_date, get_i64, Store, StoreError};

use super::{corrupt, count, Workspace};

/// A theme of the configurable list free text is tagged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceTheme {
    pub code: String,
    pub label: String,
    pub keywords: Vec<String>,
}

/// A survey import as the workspace lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveySummary {
    pub id: i64,
    pub title: String,
    pub file_name: String,
    pub accepted: u64,
    pub rejected: u64,
    pub imported_by: String,
    pub imported_on: String,
}

/// Raw counts of tagged answers: (field, group value, theme label, answers), and per group the
/// answers in it: (field, group value, answers). The page applies disclosure control.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThemeCounts {
    pub by_group: Vec<(String, String, String, u64)>,
    pub groups: Vec<(String, String, u64)>,
    /// (theme label, answers) over every import.
    pub overall: Vec<(String, u64)>,
}

/// Notes from a roadshow or engagement event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: NoteKind,
    pub held_on: NaiveDate,
    pub title: String,
    pub notes: String,
    pub recorded_by: String,
}

impl Store {
    /// The theme list in its order.
    pub async fn place_themes(&self) -> Result<Vec<PlaceTheme>, StoreError> {
        sqlx::query("SELECT code, label, keywords FROM place_themes ORDER BY position, code")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let keywords: String = r.try_get("keywords")?;
                Ok(PlaceTheme {
                    code: r.try_get("code")?,
                    label: r.try_get("label")?,
                    keywords: keywords
                        .split(',')
                        .map(|k| k.trim().to_owned())
                        .filter(|k| !k.is_empty())
                        .collect(),
                })
            })
            .collect()
    }

    /// The themes as the survey reader takes them.
    pub async fn survey_themes(&self) -> Result<Vec<Theme>, StoreError> {
        Ok(self
            .place_themes()
            .await?
            .into_iter()
            .map(|t| Theme {
                code: t.code,
                keywords: t.keywords,
            })
            .collect())
    }

    /// Adds a theme at the end of the list (a lead of any partnership may). Answers imported
    /// afterwards are tagged with it.
    pub async fn add_place_theme(
        &self,
        ws: &Workspace,
        label: &str,
        keywords: &[String],
    ) -> Result<String, ActionError> {
        if !ws.access.may_manage_partners() {
            self.place_audit(
                &self.pool,
                ws.user,
                AuditAction::Denied,
                Some(ws.id),
                "add theme: not a lead".into(),
            )
            .await?;
            return Err(ActionError::Denied);
        }
        let code: String = label
            .trim()
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        if code.is_empty() {
            return Err(ActionError::refused_at("label", "Enter the theme's name"));
        }
        if keywords.is_empty() {
            return Err(ActionError::refused_at(
                "keywords",
                "Enter at least one word that tags an answer with this theme",
            ));
        }
        if self.place_themes().await?.iter().any(|t| t.code == code) {
            return Err(ActionError::refused_at(
                "label",
                "That theme is already on the list",
            ));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO place_themes (code, label, keywords, position) \
             VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM place_themes))",
        )
        .bind(&code)
        .bind(label.trim())
        .bind(keywords.join(","))
        .execute(&mut *tx)
        .await?;
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Update,
            Some(ws.id),
            format!("theme {code} added"),
        )
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Keeps a survey's accepted answers with their groups and themes, in one transaction.
    pub async fn import_survey(
        &self,
        ws: &Workspace,
        title: &str,
        file_name: &str,
        survey: &SurveyImport,
    ) -> Result<i64, ActionError> {
        if title.trim().is_empty() {
            return Err(ActionError::refused_at("title", "Enter the survey's title"));
        }
        if survey.responses.is_empty() {
            return Err(ActionError::refused_at(
                "file",
                "The file has no answers that could be imported",
            ));
        }
        let known: Vec<String> = self
            .place_themes()
            .await?
            .into_iter()
            .map(|t| t.code)
            .collect();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_surveys (workspace_id, title, file_name, accepted, rejected, imported_by, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ws.id)
        .bind(title.trim())
        .bind(file_name)
        .bind(i64::try_from(survey.responses.len()).unwrap_or(i64::MAX))
        .bind(i64::try_from(survey.rejected.len()).unwrap_or(i64::MAX))
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let survey_id = get_i64(&row, "id")?;
        for r in &survey.responses {
            let row = sqlx::query(
                "INSERT INTO place_survey_answers (survey_id, line, question, answer) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(survey_id)
            .bind(i64::try_from(r.line).unwrap_or(i64::MAX))
            .bind(&r.question)
            .bind(&r.answer)
            .fetch_one(&mut *tx)
            .await?;
            let answer = get_i64(&row, "id")?;
            for (field, value) in &r.groups {
                sqlx::query(
                    "INSERT INTO place_survey_groups (answer_id, field, value) VALUES ($1, $2, $3)",
                )
                .bind(answer)
                .bind(field)
                .bind(value)
                .execute(&mut *tx)
                .await?;
            }
            for theme in r.themes.iter().filter(|t| known.contains(t)) {
                sqlx::query(
                    "INSERT INTO place_survey_answer_themes (answer_id, theme) VALUES ($1, $2)",
                )
                .bind(answer)
                .bind(theme)
                .execute(&mut *tx)
                .await?;
            }
        }
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Create,
            Some(ws.id),
            format!(
                "survey {survey_id} imported ({} accepted, {} rejected)",
                survey.responses.len(),
                survey.rejected.len()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(survey_id)
    }

    /// The workspace's survey imports, newest first.
    pub async fn surveys(&self, ws: &Workspace) -> Result<Vec<SurveySummary>, StoreError> {
        sqlx::query(
            "SELECT s.id, s.title, s.file_name, s.accepted, s.rejected, s.imported_at, u.display_name \
             FROM place_surveys s JOIN users u ON u.id = s.imported_by WHERE s.workspace_id = $1 \
             ORDER BY s.imported_at DESC, s.id DESC",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let at: String = r.try_get("imported_at")?;
            Ok(SurveySummary {
                id: get_i64(r, "id")?,
                title: r.try_get("title")?,
                file_name: r.try_get("file_name")?,
                accepted: count(r, "accepted")?,
                rejected: count(r, "rejected")?,
                imported_by: r.try_get("display_name")?,
                imported_on: at.get(..10).unwrap_or(&at).to_owned(),
            })
        })
        .collect()
    }

    /// Raw counts of tagged answers over every survey of the workspace.
    pub async fn survey_theme_counts(&self, ws: &Workspace) -> Result<ThemeCounts, StoreError> {
        let answers =
            "SELECT a.id FROM place_survey_answers a JOIN place_surveys s ON s.id = a.survey_id \
                       WHERE s.workspace_id = $1";
        let mut out = ThemeCounts::default();
        for r in sqlx::query(&format!(
            "SELECT g.field, g.value, t.label, COUNT(*) AS n FROM place_survey_groups g \
             JOIN place_survey_answer_themes tt ON tt.answer_id = g.answer_id \
             JOIN place_themes t ON t.code = tt.theme WHERE g.answer_id IN ({answers}) \
             GROUP BY g.field, g.value, t.label, t.position ORDER BY g.field, g.value, t.position"
        ))
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        {
            out.by_group.push((
                r.try_get("field")?,
                r.try_get("value")?,
                r.try_get("label")?,
                count(&r, "n")?,
            ));
        }
        for r in sqlx::query(&format!(
            "SELECT g.field, g.value, COUNT(*) AS n FROM place_survey_groups g \
             WHERE g.answer_id IN ({answers}) GROUP BY g.field, g.value ORDER BY g.field, g.value"
        ))
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        {
            out.groups
                .push((r.try_get("field")?, r.try_get("value")?, count(&r, "n")?));
        }
        for r in sqlx::query(&format!(
            "SELECT t.label, COUNT(*) AS n FROM place_survey_answer_themes tt \
             JOIN place_themes t ON t.code = tt.theme WHERE tt.answer_id IN ({answers}) \
             GROUP BY t.label, t.position ORDER BY t.position"
        ))
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        {
            out.overall.push((r.try_get("label")?, count(&r, "n")?));
        }
        Ok(out)
    }

    /// Records roadshow or engagement notes.
    pub async fn add_place_note(
        &self,
        ws: &Workspace,
        kind: NoteKind,
        held_on: NaiveDate,
        title: &str,
        notes: &str,
    ) -> Result<i64, ActionError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "INSERT INTO place_notes (workspace_id, kind, held_on, title, notes, recorded_by, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ws.id)
        .bind(kind.code())
        .bind(held_on.to_string())
        .bind(title)
        .bind(notes)
        .bind(ws.user.get())
        .bind(self.place_now())
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        self.place_audit(
            &mut *tx,
            ws.user,
            AuditAction::Create,
            Some(ws.id),
            format!("{} note {id}", kind.code()),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The workspace's notes, newest first.
    pub async fn place_notes(&self, ws: &Workspace) -> Result<Vec<Note>, StoreError> {
        sqlx::query(
            "SELECT n.kind, n.held_on, n.title, n.notes, u.display_name FROM place_notes n \
             JOIN users u ON u.id = n.recorded_by WHERE n.workspace_id = $1 ORDER BY n.held_on DESC, n.id DESC",
        )
        .bind(ws.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok(Note {
                kind: NoteKind::from_code(&kind).ok_or_else(|| corrupt("place_notes.kind", kind))?,
                held_on: get_date(r, "held_on")?,
                title: r.try_get("title")?,
                notes: r.try_get("notes")?,
                recorded_by: r.try_get("display_name")?,
            })
        })
        .collect()
    }
}
