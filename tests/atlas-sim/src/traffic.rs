//! Request log and the middleware that applies queued faults to Atlas API
//! and token requests and records each of them.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::Simulator;
use crate::auth::AuthKind;
use crate::faults::FaultKind;

/// Path prefix of the admin routes, which are neither faulted nor recorded.
pub(crate) const ADMIN_PREFIX: &str = "/_sim";

/// One request to the Atlas API or the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub method: String,
    /// Path and query as sent.
    pub path: String,
    /// Status sent to the client, after any fault.
    pub status: u16,
    /// Scheme of the `Authorization` header, valid or not.
    pub auth: AuthKind,
    /// Arrival time in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Label of the fault that shaped the response, if any.
    pub fault: Option<String>,
}

/// Applies faults, runs the request, records it and logs it.
///
/// `Status` and `BadBody` faults replace processing. `Delay` delays the
/// response after processing, and the record is written before the delay so
/// that a client that gives up still leaves a trace. `SuccessStatus`
/// rewrites the status of a 2xx response.
pub(crate) async fn record_and_fault(
    State(simulator): State<Simulator>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path == ADMIN_PREFIX || path.starts_with(&format!("{ADMIN_PREFIX}/")) {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_owned();
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let auth = AuthKind::from_headers(request.headers());
    let at_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));

    let before = simulator.fault_queue().take_before(&method, &path);
    let mut fault = before.as_ref().map(FaultKind::label);
    let mut response = match before.as_ref().and_then(FaultKind::replacement_response) {
        Some(replacement) => replacement,
        None => next.run(request).await,
    };

    if response.status().is_success() {
        let override_code = simulator
            .fault_queue()
            .take_success_override(&method, &path);
        if let Some(code) = override_code.and_then(|c| StatusCode::from_u16(c).ok()) {
            *response.status_mut() = code;
            let label = FaultKind::SuccessStatus(code.as_u16()).label();
            fault = Some(match fault {
                Some(earlier) => format!("{earlier}, {label}"),
                None => label,
            });
        }
    }

    let status = response.status().as_u16();
    tracing::info!(
        method,
        path,
        status,
        auth = auth.as_str(),
        fault = fault.as_deref(),
        "request"
    );
    simulator.record(RequestRecord {
        method,
        path,
        status,
        auth,
        at_unix_ms,
        fault,
    });

    if let Some(FaultKind::Delay(delay)) = before {
        tokio::time::sleep(delay).await;
    }
    response
}
