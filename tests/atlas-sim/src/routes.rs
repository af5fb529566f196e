//! HTTP routing of the simulator and the Atlas API handlers: authentication
//! and `Accept` checks, path validation, the private endpoint routes and the
//! token endpoint.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::{EndpointService, LinkError};
use crate::{ATLAS_MEDIA_TYPE, Simulator, TOKEN_PATH, admin, traffic};

const SERVICES_PATH: &str =
    "/api/atlas/v2/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService";

/// Builds the full application: Atlas API, token endpoint and admin routes.
pub(crate) fn router(simulator: Simulator) -> Router {
    let service_path = format!("{SERVICES_PATH}/{{endpointServiceId}}");
    let links_path = format!("{service_path}/endpoint");
    let link_path = format!("{links_path}/{{endpointId}}");
    let api = Router::new()
        .route(SERVICES_PATH, get(list_services))
        .route(&service_path, get(get_service))
        .route(&links_path, post(create_link))
        .route(&link_path, get(get_link).delete(delete_link))
        .route_layer(from_fn_with_state(simulator.clone(), guard_api));

    Router::new()
        .merge(api)
        .route(TOKEN_PATH, post(issue_token))
        .nest(traffic::ADMIN_PREFIX, admin::router())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(
            simulator.clone(),
            traffic::record_and_fault,
        ))
        .with_state(simulator)
}

/// Rejects API requests without valid credentials (401) or without the
/// versioned media type in `Accept` (406), in that order.
async fn guard_api(State(simulator): State<Simulator>, request: Request, next: Next) -> Response {
    let rejection = simulator.authenticator().reject_unauthenticated(
        request.method(),
        request.uri(),
        request.headers(),
    );
    if let Some(response) = rejection {
        return response;
    }
    if !accepts_atlas_media_type(request.headers()) {
        return ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "INVALID_VERSION_DATE",
            "Invalid accept header or version date.",
        )
        .into_response();
    }
    next.run(request).await
}

/// Returns whether any media range in `Accept` is the versioned Atlas media
/// type, ignoring parameters and case.
///
/// NOTE: Atlas documents 406 for a missing version or one that does not
/// exist. Whether it serves these routes for a later version date is not
/// documented, so the simulator accepts only 2023-01-01.
fn accepts_atlas_media_type(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|range| range.split(';').next().unwrap_or("").trim())
        .any(|range| range.eq_ignore_ascii_case(ATLAS_MEDIA_TYPE))
}

/// Success response with the versioned Atlas media type.
fn atlas_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, ATLAS_MEDIA_TYPE)],
        body.to_string(),
    )
        .into_response()
}

/// Path parameters of the private endpoint routes. Each route fills only the
/// parameters in its path.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiPath {
    group_id: String,
    cloud_provider: String,
    #[serde(default)]
    endpoint_service_id: Option<String>,
    #[serde(default)]
    endpoint_id: Option<String>,
}

impl ApiPath {
    fn service_id(&self) -> &str {
        self.endpoint_service_id.as_deref().unwrap_or_default()
    }

    fn endpoint_id(&self) -> &str {
        self.endpoint_id.as_deref().unwrap_or_default()
    }
}

/// Validates the path parameters in the order they appear in the path.
fn parse_path(path: Result<Path<ApiPath>, PathRejection>) -> Result<ApiPath, ApiError> {
    let Path(path) = path.map_err(|rejection| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "PATH_PARAM_PARSE_ERROR",
            format!("Unable to parse path parameters: {rejection}"),
        )
    })?;
    if !is_object_id(&path.group_id) {
        return Err(path_param_error(
            "groupId",
            &path.group_id,
            "a 24-digit lower-case hexadecimal string",
        ));
    }
    match path.cloud_provider.as_str() {
        "AWS" => {}
        "AZURE" | "GCP" => {
            // NOTE: Atlas serves AZURE and GCP too, but the simulator models AWS only.
            let detail = format!(
                "The simulator supports only AWS, not {}.",
                path.cloud_provider
            );
            return Err(
                ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", detail)
                    .with_parameters(vec![json!(path.cloud_provider)]),
            );
        }
        other => {
            return Err(path_param_error(
                "cloudProvider",
                other,
                "AWS, AZURE or GCP",
            ));
        }
    }
    if let Some(service_id) = &path.endpoint_service_id {
        if !is_object_id(service_id) {
            return Err(path_param_error(
                "endpointServiceId",
                service_id,
                "a 24-digit lower-case hexadecimal string",
            ));
        }
    }
    if let Some(endpoint_id) = &path.endpoint_id {
        if !is_vpce_id(endpoint_id) {
            return Err(path_param_error(
                "endpointId",
                endpoint_id,
                "vpce- followed by 17 lower-case hexadecimal digits",
            ));
        }
    }
    Ok(path)
}

fn path_param_error(name: &str, value: &str, expected: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PATH_PARAM_PARSE_ERROR",
        format!("Path parameter {name} has the invalid value {value:?}. Expected {expected}."),
    )
    .with_parameters(vec![json!(name), json!(value)])
}

/// Returns whether `id` has the form of a MongoDB ObjectId, which is 24
/// lower-case hex digits.
pub(crate) fn is_object_id(id: &str) -> bool {
    id.len() == 24 && is_lower_hex(id)
}

/// Returns whether `id` matches `^vpce-[0-9a-f]{17}$`.
pub(crate) fn is_vpce_id(id: &str) -> bool {
    id.strip_prefix("vpce-")
        .is_some_and(|hex| hex.len() == 17 && is_lower_hex(hex))
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn group_not_found(group_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "GROUP_NOT_FOUND",
        format!("No group with ID {group_id} exists."),
    )
    .with_parameters(vec![json!(group_id)])
}

fn link_error(error: LinkError, path: &ApiPath) -> ApiError {
    match error {
        LinkError::ProjectNotFound => group_not_found(&path.group_id),
        LinkError::ServiceNotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "PRIVATE_ENDPOINT_SERVICE_NOT_FOUND",
            format!("Private endpoint service {} not found.", path.service_id()),
        )
        .with_parameters(vec![json!(path.service_id())]),
        LinkError::LinkNotFound => ApiError::new(
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_FOUND",
            format!(
                "Cannot find interface endpoint {} in private endpoint service {}.",
                path.endpoint_id(),
                path.service_id()
            ),
        )
        .with_parameters(vec![json!(path.endpoint_id())]),
        LinkError::AlreadyLinked(existing) => ApiError::new(
            StatusCode::CONFLICT,
            "PRIVATE_ENDPOINT_ALREADY_EXISTS",
            format!(
                "Interface endpoint {} is already linked to private endpoint service {} \
                 with status {}.",
                existing.interface_endpoint_id,
                path.service_id(),
                existing.connection_status
            ),
        )
        .with_parameters(vec![json!(existing.interface_endpoint_id)]),
    }
}

async fn list_services(
    State(simulator): State<Simulator>,
    path: Result<Path<ApiPath>, PathRejection>,
) -> Result<Response, ApiError> {
    let path = parse_path(path)?;
    simulator.settle().await;
    let world = simulator.world();
    let services = world
        .services(&path.group_id)
        .ok_or_else(|| group_not_found(&path.group_id))?;
    let body: Vec<Value> = services.iter().map(EndpointService::to_api_json).collect();
    Ok(atlas_json(StatusCode::OK, &Value::Array(body)))
}

async fn get_service(
    State(simulator): State<Simulator>,
    path: Result<Path<ApiPath>, PathRejection>,
) -> Result<Response, ApiError> {
    let path = parse_path(path)?;
    simulator.settle().await;
    let world = simulator.world();
    let service = world
        .service(&path.group_id, path.service_id())
        .map_err(|error| link_error(error, &path))?;
    Ok(atlas_json(StatusCode::OK, &service.to_api_json()))
}

async fn create_link(
    State(simulator): State<Simulator>,
    path: Result<Path<ApiPath>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = parse_path(path)?;
    check_content_type(&headers)?;
    let vpce_id = parse_link_body(&body)?;
    simulator.settle().await;
    let created = simulator.world().create_link(
        &path.group_id,
        path.service_id(),
        &vpce_id,
        std::time::Instant::now(),
    );
    let link = created.map_err(|error| link_error(error, &path))?;
    tracing::info!(
        project_id = path.group_id,
        service_id = path.service_id(),
        vpce_id,
        "link created"
    );
    Ok(atlas_json(StatusCode::OK, &link.to_api_json()))
}

/// Accepts `application/json` and the versioned Atlas media type, with or
/// without parameters such as `charset`.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    let supported = media_type.eq_ignore_ascii_case("application/json")
        || media_type.eq_ignore_ascii_case(ATLAS_MEDIA_TYPE);
    if supported {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        format!("Content-Type {content_type:?} is not supported. Send {ATLAS_MEDIA_TYPE}."),
    ))
}

/// Reads `{"id": "vpce-…"}`. A `cloudProvider` field, if present, must be AWS.
fn parse_link_body(body: &[u8]) -> Result<String, ApiError> {
    let invalid =
        |detail: String| ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", detail);
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| invalid(format!("The request body is not valid JSON: {error}.")))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("The request body must be a JSON object.".to_owned()))?;
    if let Some(provider) = object.get("cloudProvider") {
        if provider != "AWS" {
            return Err(invalid(format!(
                "cloudProvider {provider} does not match the path. Use AWS."
            )));
        }
    }
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("The id field is required and must be a string.".to_owned()))?;
    if !is_vpce_id(id) {
        let error = invalid(format!("The id {id:?} must match ^vpce-[0-9a-f]{{17}}$."));
        return Err(error.with_parameters(vec![json!("id")]));
    }
    Ok(id.to_owned())
}

async fn get_link(
    State(simulator): State<Simulator>,
    path: Result<Path<ApiPath>, PathRejection>,
) -> Result<Response, ApiError> {
    let path = parse_path(path)?;
    simulator.settle().await;
    let link = simulator
        .world()
        .link(&path.group_id, path.service_id(), path.endpoint_id())
        .map_err(|error| link_error(error, &path))?;
    Ok(atlas_json(StatusCode::OK, &link.to_api_json()))
}

async fn delete_link(
    State(simulator): State<Simulator>,
    path: Result<Path<ApiPath>, PathRejection>,
) -> Result<Response, ApiError> {
    let path = parse_path(path)?;
    simulator.settle().await;
    simulator
        .world()
        .request_delete(
            &path.group_id,
            path.service_id(),
            path.endpoint_id(),
            std::time::Instant::now(),
        )
        .map_err(|error| link_error(error, &path))?;
    tracing::info!(
        project_id = path.group_id,
        service_id = path.service_id(),
        vpce_id = path.endpoint_id(),
        "link delete requested"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
}

async fn issue_token(
    State(simulator): State<Simulator>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let grant_type = form.as_ref().ok().and_then(|f| f.grant_type.as_deref());
    simulator.authenticator().issue_token(&headers, grant_type)
}

async fn route_not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        format!("No resource matches {method} {}.", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("Method {method} is not supported on {}.", uri.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn object_ids_validate() {
        assert!(is_object_id("0123456789abcdef01234567"));
        assert!(!is_object_id("0123456789ABCDEF01234567"));
        assert!(!is_object_id("0123456789abcdef0123456"));
        assert!(!is_object_id("0123456789abcdef0123456g"));
    }

    #[test]
    fn vpce_ids_validate() {
        assert!(is_vpce_id("vpce-0123456789abcdef0"));
        assert!(!is_vpce_id("vpce-0123456789abcdef"));
        assert!(!is_vpce_id("vpce-0123456789ABCDEF0"));
        assert!(!is_vpce_id("vpc-0123456789abcdef01"));
    }

    #[test]
    fn accept_matches_versioned_type() {
        let mut headers = HeaderMap::new();
        let value = "application/json, application/vnd.atlas.2023-01-01+json;charset=utf-8";
        headers.insert(header::ACCEPT, HeaderValue::from_static(value));
        assert!(accepts_atlas_media_type(&headers));

        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!accepts_atlas_media_type(&headers));

        headers.remove(header::ACCEPT);
        assert!(!accepts_atlas_media_type(&headers));
    }

    #[test]
    fn link_body_parses() {
        let id = parse_link_body(br#"{"id":"vpce-0123456789abcdef0"}"#).unwrap();
        assert_eq!(id, "vpce-0123456789abcdef0");
        assert!(parse_link_body(b"{}").is_err());
        assert!(parse_link_body(b"not json").is_err());
        assert!(parse_link_body(br#"{"id":"vpce-1"}"#).is_err());
        assert!(
            parse_link_body(br#"{"id":"vpce-0123456789abcdef0","cloudProvider":"GCP"}"#).is_err()
        );
    }
}
