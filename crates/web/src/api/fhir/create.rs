//! `POST /fhir/ServiceRequest`: a referral from another system lands on the waiting list through
//! the same path as every referral (`Store::create_referral`). The person is matched by NHS
//! number, date of birth and name exactly as for any referral; the client learns only the
//! referral's id, never whether or to whom it was matched. A request that fails validation gets
//! an OperationOutcome naming each element and stores nothing.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use careweave_domain::casework::{ReferralRoute, ReferralSource};
use careweave_domain::OrganisationKind;
use careweave_fhir::{self as fhir, Issue, IssueCode};
use careweave_store::casework::{NewReferral, ReferredPerson, Referrer};

use super::{base_url, Client, Outcome};
use crate::AppState;

pub(super) async fn create(
    State(state): State<AppState>,
    Client(client): Client,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Outcome> {
    if kind != "ServiceRequest" {
        return Err(Outcome::new(
            StatusCode::METHOD_NOT_ALLOWED,
            vec![Issue::general(
                IssueCode::NotSupported,
                format!("{kind} cannot be created here: only ServiceRequest is accepted"),
            )],
        ));
    }
    if !client.scope.may_write() {
        return Err(Outcome::new(
            StatusCode::FORBIDDEN,
            vec![Issue::general(
                IssueCode::Forbidden,
                "this API token may only read",
            )],
        ));
    }
    let incoming = fhir::parse_service_request(&body).map_err(|issues| {
        // Not a ServiceRequest at all (bad JSON, another resource type) is a bad request; a
        // ServiceRequest that breaks a rule is unprocessable.
        let status = if issues.iter().any(|i| i.code == IssueCode::Structure) {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Outcome::new(status, issues)
    })?;
    let services = state.store.casework_services().await?;
    let Some(service) = services.iter().find(|s| s.id.get() == incoming.service) else {
        return Err(Outcome::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![Issue::at(
                IssueCode::Value,
                "ServiceRequest.performer[0].reference",
                "no such HealthcareService takes referrals here",
            )],
        ));
    };
    // A GP system's referral counts as the GP's; anything else as another team's.
    let organisations = state.store.organisations().await?;
    let source = match organisations
        .iter()
        .find(|o| o.id == client.organisation)
        .map(|o| o.kind)
    {
        Some(OrganisationKind::GpPractice) => ReferralSource::Gp,
        _ => ReferralSource::AnotherTeam,
    };
    let new = NewReferral {
        service: service.id,
        known_person: None,
        person: ReferredPerson {
            given_name: incoming.given_name,
            family_name: incoming.family_name,
            date_of_birth: incoming.date_of_birth,
            nhs_number: Some(incoming.nhs_number),
            practice: None,
            contact: incoming.contact,
        },
        source,
        route: ReferralRoute::Api,
        reason: incoming.reason,
        needs: incoming.needs,
        concerns: String::new(),
        need_domains: Vec::new(),
        risk_flags: Vec::new(),
        cohort: None,
        urgency: incoming.urgency,
        // Details go back to the GP only with the person's recorded agreement; a system's
        // request carries none, so codes only until the team records it.
        consent_share_detail: false,
        referrer: Referrer {
            user: Some(client.principal.user),
            name: incoming
                .requester
                .unwrap_or_else(|| client.client_name.clone()),
            contact: format!("API client: {}", client.client_name),
        },
        received_on: state.clock.today(),
    };
    let created = match state.store.create_referral(&new).await {
        Ok(created) => created,
        Err(careweave_store::change::ActionError::Store(e)) => return Err(e.into()),
        Err(other) => {
            return Err(Outcome::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![Issue::general(IssueCode::Value, other.to_string())],
            ))
        }
    };
    let location = format!(
        "{}/ServiceRequest/{}",
        base_url(&headers, &state),
        created.id.get()
    );
    // The sender reads back what they sent, as on the referral page; whether and to whom it was
    // matched is not shown (`show_person` is false).
    let body = match state
        .store
        .referral_for(&client.principal, created.id)
        .await
    {
        Ok(view) => fhir::service_request(&view, false),
        Err(_) => serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "information",
                "code": "informational",
                "diagnostics": "the referral was received",
            }],
        }),
    };
    let mut response = super::fhir(StatusCode::CREATED, &body);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}
