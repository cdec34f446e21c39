//! Finding a person by an identifier a client sent (the FHIR API's `Patient?identifier=`), through
//! the same door as every read: the record is returned only when the policy lets the reader open
//! it ([`Store::read_person`], audited either way). A number that matches nobody is audited too
//! and answers exactly like a refused one, so a search cannot tell whether a person exists.

use careweave_domain::access::Principal;
use careweave_domain::{NhsNumber, PersonId};

use crate::audit::{AuditAction, AuditEvent};
use crate::records::{PersonRecord, RecordError};
use crate::{get_i64, Store, StoreError};

impl Store {
    /// The record of the person with this NHS number, when `who` may read it; `None` when nobody
    /// has it or the policy refuses (both audited).
    pub async fn read_person_by_nhs_number(
        &self,
        who: &Principal,
        nhs: NhsNumber,
    ) -> Result<Option<PersonRecord>, StoreError> {
        let row = sqlx::query("SELECT id FROM people WHERE nhs_number = $1")
            .bind(nhs.as_digits())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            self.audit(AuditEvent {
                user: Some(who.user),
                action: AuditAction::Denied,
                entity: "person",
                entity_id: None,
                reason: "search by NHS number: no match".to_owned(),
            })
            .await?;
            return Ok(None);
        };
        match self
            .read_person(who, PersonId::new(get_i64(&row, "id")?))
            .await
        {
            Ok(record) => Ok(Some(record)),
            Err(RecordError::Denied) => Ok(None),
            Err(RecordError::Store(e)) => Err(e),
        }
    }
}
