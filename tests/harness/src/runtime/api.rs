//! HTTP side of the Lambda Runtime API emulator (API version 2018-06-01).
//!
//! Routes and headers follow what `lambda_runtime` 1.5 sends and reads:
//! `GET /2018-06-01/runtime/invocation/next`,
//! `POST /2018-06-01/runtime/invocation/{id}/response`,
//! `POST /2018-06-01/runtime/invocation/{id}/error` and
//! `POST /2018-06-01/runtime/init/error`. The `/restore/*` routes used only by
//! SnapStart are not emulated and return 404.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, watch};

use super::InitError;

/// Maximum response payload of a synchronous invocation, in bytes. AWS Lambda
/// rejects larger responses with `Function.ResponseSizeTooLarge`, and its
/// error message gives this number.
pub(crate) const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Request body limit of the emulator. It is above [`MAX_RESPONSE_BYTES`] so an
/// oversized response reaches the handler and fails the invocation the way
/// Lambda does, instead of being cut off by the HTTP layer.
const BODY_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// Event waiting for the function to fetch it with `/next`.
pub(crate) struct QueuedEvent {
    pub(crate) request_id: String,
    pub(crate) body: Vec<u8>,
    pub(crate) deadline_ms: u128,
    pub(crate) function_arn: String,
    pub(crate) trace_id: String,
}

/// Result that the function posted for one request id.
pub(crate) enum Outcome {
    Response(Bytes),
    Error {
        error_type: String,
        error_message: String,
    },
}

/// State shared between the HTTP handlers and the owning `FunctionProcess`.
pub(crate) struct EmulatorState {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<QueuedEvent>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    pub(crate) init_error: watch::Sender<Option<InitError>>,
    pub(crate) first_next_at: OnceLock<Instant>,
    pub(crate) ready: watch::Sender<bool>,
}

impl EmulatorState {
    pub(crate) fn new() -> (Arc<Self>, mpsc::UnboundedSender<QueuedEvent>) {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let state = EmulatorState {
            events: tokio::sync::Mutex::new(events_rx),
            pending: Mutex::new(HashMap::new()),
            init_error: watch::Sender::new(None),
            first_next_at: OnceLock::new(),
            ready: watch::Sender::new(false),
        };
        (Arc::new(state), events_tx)
    }

    /// Registers a request id and returns the receiver for its outcome.
    pub(crate) fn expect_outcome(&self, request_id: &str) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(request_id.to_owned(), tx);
        rx
    }

    /// Forgets a request id, so a late result for it is rejected.
    pub(crate) fn forget(&self, request_id: &str) {
        self.lock_pending().remove(request_id);
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Outcome>>> {
        // A poisoned lock only means another handler panicked mid-insert, and
        // the map itself is still consistent.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers an outcome, returning false when the request id is unknown or
    /// already completed.
    fn complete(&self, request_id: &str, outcome: Outcome) -> bool {
        match self.lock_pending().remove(request_id) {
            Some(tx) => tx.send(outcome).is_ok(),
            None => false,
        }
    }
}

pub(crate) fn router(state: Arc<EmulatorState>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{request_id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .with_state(state)
}

/// Long-polls until an event is queued, then hands it to the function.
async fn next_invocation(State(state): State<Arc<EmulatorState>>) -> Response {
    if state.first_next_at.set(Instant::now()).is_ok() {
        state.ready.send_replace(true);
    }

    let event = state.events.lock().await.recv().await;
    let Some(event) = event else {
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "emulator is shutting down",
        );
    };

    let mut headers = HeaderMap::new();
    let pairs = [
        ("lambda-runtime-aws-request-id", event.request_id),
        ("lambda-runtime-deadline-ms", event.deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", event.function_arn),
        ("lambda-runtime-trace-id", event.trace_id),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (StatusCode::OK, headers, event.body).into_response()
}

async fn invocation_response(
    State(state): State<Arc<EmulatorState>>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> Response {
    if body.len() > MAX_RESPONSE_BYTES {
        let outcome = Outcome::Error {
            error_type: "Function.ResponseSizeTooLarge".to_owned(),
            error_message: format!(
                "Response payload size exceeded maximum allowed payload size \
                 ({MAX_RESPONSE_BYTES} bytes)."
            ),
        };
        state.complete(&request_id, outcome);
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "response payload is too large",
        );
    }

    // NOTE: a streaming response (`Lambda-Runtime-Function-Response-Mode:
    // streaming`) is read as one buffered body, and an error sent in its
    // trailers is not detected.
    if state.complete(&request_id, Outcome::Response(body)) {
        accepted()
    } else {
        unknown_request(&request_id)
    }
}

/// Error document that runtimes post to the `/error` endpoints.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_type: String,
    error_message: String,
}

/// Reads an error document, falling back to the
/// `Lambda-Runtime-Function-Error-Type` header and the raw body when the body
/// is not the expected JSON.
fn parse_error_body(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return (parsed.error_type, parsed.error_message);
    }
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unknown")
        .to_owned();
    (error_type, String::from_utf8_lossy(body).into_owned())
}

async fn invocation_error(
    State(state): State<Arc<EmulatorState>>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = parse_error_body(&headers, &body);
    let outcome = Outcome::Error {
        error_type,
        error_message,
    };
    if state.complete(&request_id, outcome) {
        accepted()
    } else {
        unknown_request(&request_id)
    }
}

async fn init_error(
    State(state): State<Arc<EmulatorState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = parse_error_body(&headers, &body);
    state.init_error.send_replace(Some(InitError {
        error_type,
        error_message,
    }));
    accepted()
}

async fn not_found() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "route not provided by the Runtime API emulator",
    )
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "status": "OK" })),
    )
        .into_response()
}

fn unknown_request(request_id: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        &format!("request id {request_id} is unknown, already completed or timed out"),
    )
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errorType": error_type, "errorMessage": message });
    (status, axum::Json(body)).into_response()
}
