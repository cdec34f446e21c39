//! A directory import in two steps: the preview, which reads the file and says what it would add,
//! change and refuse without publishing anything, and the confirmation, which publishes exactly
//! the file that was previewed. Between the two the file waits in `directory_pending_imports`,
//! held for the administrator who uploaded it; each account has at most one waiting.

use std::collections::HashMap;

use careweave_directory::{Format, ImportReport};
use careweave_domain::{OrganisationId, UserId};
use sqlx::{AnyConnection, Row};

use super::ImportOutcome;
use crate::{get_i64, now_text, Store, StoreError};

/// One service of a previewed file: its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewedService {
    pub id: String,
    pub name: String,
}

/// What an import would do, before anything is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPreview {
    /// The waiting import to confirm.
    pub id: i64,
    pub file_name: String,
    pub owner: OrganisationId,
    /// How many records the file held.
    pub read: usize,
    /// Services the directory does not hold yet.
    pub added: Vec<PreviewedService>,
    /// Services the importing organisation keeps already, which the file replaces.
    pub changed: Vec<PreviewedService>,
    /// How many records will be refused.
    pub rejected: usize,
    /// Every problem with its record's line (or position), field and reason, including records
    /// another organisation keeps; a record may have several.
    pub refused: Vec<String>,
}

fn format_code(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::Json => "json",
    }
}

/// Who keeps each published service: its id to (the keeper's id, the keeper's name). Read inside
/// the caller's transaction when it is about to write.
pub(super) async fn service_keepers(
    connection: &mut AnyConnection,
) -> Result<HashMap<String, (i64, String)>, StoreError> {
    sqlx::query(
        "SELECT s.id, s.owner_id, o.name FROM directory_services s \
         JOIN organisations o ON o.id = s.owner_id",
    )
    .fetch_all(&mut *connection)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get::<String, _>("id")?,
            (get_i64(r, "owner_id")?, r.try_get::<String, _>("name")?),
        ))
    })
    .collect()
}

/// The words for a record another organisation keeps, the same in the preview and the import.
pub(super) fn kept_by(keeper: &str) -> String {
    format!(
        "this service is kept by {keeper}; only they can change it (ask them, or propose an edit)"
    )
}

impl Store {
    /// Reads `text` as the import would (the format, the postcodes, who keeps each service), keeps
    /// it waiting for `who` to confirm, replacing any import they left waiting, and says what it
    /// would do. Nothing is published. `owner` must be an organisation `who` administers (the
    /// caller checks, as for [`Store::import_directory_file`]).
    pub async fn preview_directory_import(
        &self,
        who: UserId,
        owner: OrganisationId,
        format: Format,
        file_name: &str,
        text: &str,
    ) -> Result<ImportPreview, StoreError> {
        let mut report = self.read_directory_file(format, text).await?;
        let keepers = service_keepers(&mut *self.pool.acquire().await?).await?;
        let (mut added, mut changed) = (Vec::new(), Vec::new());
        let mut others = Vec::new();
        for s in &report.accepted {
            let entry = PreviewedService {
                id: s.id.to_string(),
                name: s.name.clone(),
            };
            match keepers.get(s.id.as_str()) {
                Some((keeper, _)) if *keeper == owner.get() => changed.push(entry),
                Some((_, name)) => others.push((entry.id, name.clone())),
                None => added.push(entry),
            }
        }
        for (id, keeper) in others {
            report.refuse(&id, "id", &kept_by(&keeper));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM directory_pending_imports WHERE uploaded_by = $1")
            .bind(who.get())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "INSERT INTO directory_pending_imports \
             (uploaded_by, owner_id, format, file_name, content, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(who.get())
        .bind(owner.get())
        .bind(format_code(format))
        .bind(file_name)
        .bind(text)
        .bind(now_text())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ImportPreview {
            id: get_i64(&row, "id")?,
            file_name: file_name.to_owned(),
            owner,
            read: report.read,
            added,
            changed,
            rejected: report.rejected,
            refused: report.diagnostics.iter().map(ToString::to_string).collect(),
        })
    }

    /// Publishes the import `who` previewed as `id` (see [`Store::import_directory_file`]) and
    /// forgets it; `None` when `who` has no such import waiting (confirmed already, replaced by a
    /// newer preview, or someone else's) or it is for an organisation no longer in `owners` (those
    /// `who` may import for now). The waiting file is taken before it is published, so a
    /// confirmation sent twice publishes once.
    pub async fn commit_directory_import(
        &self,
        who: UserId,
        id: i64,
        owners: &[OrganisationId],
    ) -> Result<Option<(ImportReport, ImportOutcome)>, StoreError> {
        let Some(row) = sqlx::query(
            "DELETE FROM directory_pending_imports WHERE id = $1 AND uploaded_by = $2 \
             RETURNING owner_id, format, file_name, content",
        )
        .bind(id)
        .bind(who.get())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let format = match row.try_get::<String, _>("format")?.as_str() {
            "json" => Format::Json,
            _ => Format::Csv,
        };
        let owner = OrganisationId::new(get_i64(&row, "owner_id")?);
        if !owners.contains(&owner) {
            return Ok(None);
        }
        let file_name: String = row.try_get("file_name")?;
        let content: String = row.try_get("content")?;
        let source = format!("the import page ({file_name})");
        self.import_directory_file(Some(who), owner, format, &content, &source)
            .await
            .map(Some)
    }
}
