//! Who sees which aggregate figures, and how a count is shown to them: a supervisor sees their own
//! services' exact counts; others who may read aggregates see every service's counts under
//! disclosure control (see `careweave_domain::disclosure`). Shared by the casework and events reports.

use careweave_domain::access::{self, Principal, Role};
use careweave_domain::disclosure::SafeCount;
use careweave_store::casework::CaseworkService;

use crate::error::AppError;
use crate::AppState;

/// Which services' figures `who` sees, and whether they leave the team (so need suppression).
pub async fn report_scope(
    state: &AppState,
    who: &Principal,
) -> Result<(Vec<CaseworkService>, bool), AppError> {
    if who.has_role(Role::Supervisor) {
        Ok((state.store.services_worked_by(who).await?, false))
    } else if access::can_read_aggregates(who) {
        Ok((state.store.casework_services().await?, true))
    } else {
        Err(AppError::Forbidden)
    }
}

/// A count as a report shows it: rounded and small numbers hidden when the report leaves the team.
pub fn count_text(n: u64, suppress: bool) -> String {
    if suppress {
        SafeCount::from_raw(n).to_string()
    } else {
        n.to_string()
    }
}

/// A CSV file as a download, named `name`. The body comes from the one CSV writer
/// (careweave-csv), so every report's download quotes and defuses cells the same way.
pub fn csv_download(name: &str, body: String) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
