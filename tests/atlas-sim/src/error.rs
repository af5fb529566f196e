//! Atlas-style error responses: the JSON error body and the `X-Error-Code` header.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Header in which Atlas repeats the `errorCode` of an error body.
pub const ERROR_CODE_HEADER: &str = "x-error-code";

/// Error response in the shape Atlas uses:
/// `{"detail", "error", "errorCode", "parameters", "reason"}`.
///
/// Errors are sent as `application/json`, which is the media type the Atlas
/// OpenAPI spec gives for its error responses.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// Application error code. `None` only for the bare 401 body that Atlas
    /// sends when authentication fails.
    pub error_code: Option<String>,
    pub detail: String,
    pub parameters: Vec<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, error_code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error_code: Some(error_code.to_owned()),
            detail: detail.into(),
            parameters: Vec::new(),
        }
    }

    pub fn with_parameters(mut self, parameters: Vec<Value>) -> Self {
        self.parameters = parameters;
        self
    }

    /// Builds the body that Atlas sends with a failed authentication: `error`, `reason`
    /// and `detail` only, with no `errorCode` and no `X-Error-Code` header.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error_code: None,
            detail: detail.into(),
            parameters: Vec::new(),
        }
    }

    /// Builds the error for an injected status fault, with the code Atlas
    /// uses for that status where one is known.
    ///
    /// NOTE: `SIMULATED_FAULT` is a simulator code for statuses that have no
    /// typical Atlas code.
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => "VALIDATION_ERROR",
            401 => return Self::unauthorized("You are not authorized for this resource."),
            403 => "FORBIDDEN",
            404 => "RESOURCE_NOT_FOUND",
            409 => "CONFLICT",
            429 => "RATE_LIMITED",
            500 => "UNEXPECTED_ERROR",
            502..=504 => "SERVICE_UNAVAILABLE",
            _ => "SIMULATED_FAULT",
        };
        Self::new(
            status,
            code,
            format!("Simulated fault with status {status}."),
        )
    }

    pub fn body(&self) -> Value {
        let reason = self.status.canonical_reason().unwrap_or("Unknown");
        match &self.error_code {
            Some(code) => json!({
                "detail": self.detail,
                "error": self.status.as_u16(),
                "errorCode": code,
                "parameters": self.parameters,
                "reason": reason,
            }),
            None => json!({
                "detail": self.detail,
                "error": self.status.as_u16(),
                "reason": reason,
            }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        let code = self.error_code.as_deref().map(HeaderValue::from_str);
        if let Some(Ok(code)) = code {
            response.headers_mut().insert(ERROR_CODE_HEADER, code);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_atlas_fields() {
        let error = ApiError::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_FOUND", "gone")
            .with_parameters(vec![json!("x")]);
        let body = error.body();
        assert_eq!(body["error"], 404);
        assert_eq!(body["errorCode"], "RESOURCE_NOT_FOUND");
        assert_eq!(body["reason"], "Not Found");
        assert_eq!(body["detail"], "gone");
        assert_eq!(body["parameters"], json!(["x"]));
    }

    #[test]
    fn unauthorized_has_no_code() {
        let body = ApiError::unauthorized("no").body();
        assert_eq!(body["error"], 401);
        assert!(body.get("errorCode").is_none());
    }

    #[test]
    fn header_repeats_code() {
        let response = ApiError::for_status(StatusCode::TOO_MANY_REQUESTS).into_response();
        assert_eq!(response.headers()[ERROR_CODE_HEADER], "RATE_LIMITED");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
