//! Admin routes under `/_sim`: JSON control of a running simulator from
//! shell scripts and other processes. They need no authentication and are
//! neither faulted nor recorded in the request log.

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Simulator;
use crate::faults::{Fault, FaultSpec};
use crate::routes::{is_object_id, is_vpce_id};
use crate::state::{ConnectionStatus, ServiceSnapshot};

pub(crate) fn router() -> Router<Simulator> {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(state))
        .route("/reset", post(reset))
        .route("/projects", post(add_project))
        .route("/services", post(add_service))
        .route("/links", post(seed_link))
        .route(
            "/projects/{projectId}/services/{serviceId}/links",
            get(list_links),
        )
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/token-requests", get(count_token_requests))
        .route(
            "/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
}

/// Admin error: `{"error": message}` with the given status.
struct AdminError(StatusCode, String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> AdminError {
    AdminError(StatusCode::BAD_REQUEST, message.into())
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, AdminError> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| bad_request(rejection.body_text()))
}

async fn health(State(simulator): State<Simulator>) -> Json<Value> {
    Json(json!({ "status": "ok", "baseUrl": simulator.base_url() }))
}

async fn state(State(simulator): State<Simulator>) -> Json<Value> {
    Json(json!(simulator.state().await))
}

async fn reset(State(simulator): State<Simulator>) -> StatusCode {
    simulator.reset();
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectRequest {
    project_id: String,
}

async fn add_project(
    State(simulator): State<Simulator>,
    payload: Result<Json<ProjectRequest>, JsonRejection>,
) -> Result<Response, AdminError> {
    let request = body(payload)?;
    if !is_object_id(&request.project_id) {
        return Err(bad_request(format!(
            "invalid projectId {:?}: expected 24 lower-case hex digits",
            request.project_id
        )));
    }
    simulator.add_project(&request.project_id);
    let created = json!({ "projectId": request.project_id });
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceRequest {
    project_id: String,
    region_name: String,
    endpoint_service_name: String,
    /// Service id to use. A random id is used when it is absent.
    id: Option<String>,
}

async fn add_service(
    State(simulator): State<Simulator>,
    payload: Result<Json<ServiceRequest>, JsonRejection>,
) -> Result<Response, AdminError> {
    let request = body(payload)?;
    if request.region_name.is_empty() || request.endpoint_service_name.is_empty() {
        return Err(bad_request(
            "regionName and endpointServiceName must not be empty",
        ));
    }
    let added = simulator.try_add_endpoint_service(
        &request.project_id,
        &request.region_name,
        &request.endpoint_service_name,
        request.id.as_deref(),
    );
    let service_id = added.map_err(|message| {
        let status = if message.starts_with("invalid") {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::CONFLICT
        };
        AdminError(status, message)
    })?;
    let created = ServiceSnapshot {
        id: service_id,
        region_name: request.region_name,
        endpoint_service_name: request.endpoint_service_name,
        links: Vec::new(),
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkRequest {
    project_id: String,
    service_id: String,
    vpce_id: String,
    status: String,
}

async fn seed_link(
    State(simulator): State<Simulator>,
    payload: Result<Json<LinkRequest>, JsonRejection>,
) -> Result<Response, AdminError> {
    let request = body(payload)?;
    if !is_vpce_id(&request.vpce_id) {
        return Err(bad_request(format!(
            "invalid vpceId {:?}: expected vpce- followed by 17 lower-case hex digits",
            request.vpce_id
        )));
    }
    let status: ConnectionStatus = request.status.parse().map_err(bad_request)?;
    let seeded = simulator.try_link_directly(
        &request.project_id,
        &request.service_id,
        &request.vpce_id,
        status,
    );
    let link = seeded.map_err(|message| AdminError(StatusCode::NOT_FOUND, message))?;
    Ok((StatusCode::CREATED, Json(link)).into_response())
}

async fn list_links(
    State(simulator): State<Simulator>,
    Path((project_id, service_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    simulator.settle().await;
    if simulator.world().service(&project_id, &service_id).is_err() {
        return Err(AdminError(
            StatusCode::NOT_FOUND,
            format!("endpoint service {service_id} of project {project_id} not found"),
        ));
    }
    Ok(Json(simulator.links(&project_id, &service_id)).into_response())
}

async fn list_requests(State(simulator): State<Simulator>) -> Response {
    Json(simulator.requests()).into_response()
}

async fn clear_requests(State(simulator): State<Simulator>) -> StatusCode {
    simulator.clear_requests();
    StatusCode::NO_CONTENT
}

async fn count_token_requests(State(simulator): State<Simulator>) -> Json<Value> {
    Json(json!({ "count": simulator.token_requests() }))
}

async fn list_faults(State(simulator): State<Simulator>) -> Json<Vec<FaultSpec>> {
    let specs = simulator
        .pending_faults()
        .iter()
        .map(FaultSpec::from)
        .collect();
    Json(specs)
}

/// Body of `POST /_sim/faults`: one fault or an array of faults.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FaultSpecs {
    One(FaultSpec),
    Many(Vec<FaultSpec>),
}

/// Queues all the faults, or none of them when one is invalid.
async fn add_faults(
    State(simulator): State<Simulator>,
    payload: Result<Json<FaultSpecs>, JsonRejection>,
) -> Result<Response, AdminError> {
    let specs = match body(payload)? {
        FaultSpecs::One(spec) => vec![spec],
        FaultSpecs::Many(specs) => specs,
    };
    let faults: Vec<Fault> = specs
        .into_iter()
        .map(Fault::try_from)
        .collect::<Result<_, _>>()
        .map_err(bad_request)?;
    let count = faults.len();
    for fault in faults {
        simulator.inject_fault(fault);
    }
    Ok((StatusCode::CREATED, Json(json!({ "queued": count }))).into_response())
}

async fn clear_faults(State(simulator): State<Simulator>) -> StatusCode {
    simulator.clear_faults();
    StatusCode::NO_CONTENT
}
