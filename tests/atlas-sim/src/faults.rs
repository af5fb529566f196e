//! Queued fault injection: rules that replace, delay or alter the next
//! matching responses of the Atlas API and the token endpoint.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::ATLAS_MEDIA_TYPE;
use crate::error::ApiError;

/// Requests that a fault applies to. A `None` field matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultMatcher {
    /// HTTP method, compared case-insensitively.
    pub method: Option<String>,
    /// Substring of the request path and query.
    pub path_contains: Option<String>,
}

impl FaultMatcher {
    pub fn any() -> Self {
        Self::default()
    }

    pub fn new(method: &str, path_contains: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_contains: Some(path_contains.to_owned()),
        }
    }

    pub fn method(method: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_contains: None,
        }
    }

    pub fn path(path_contains: &str) -> Self {
        Self {
            method: None,
            path_contains: Some(path_contains.to_owned()),
        }
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        let method_matches = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_matches = self
            .path_contains
            .as_deref()
            .is_none_or(|p| path.contains(p));
        method_matches && path_matches
    }
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Responds with `code` without processing the request. `body` replaces
    /// the default Atlas error body, and `retry_after` (seconds) adds a
    /// `Retry-After` header.
    Status {
        code: u16,
        body: Option<String>,
        retry_after: Option<u64>,
    },
    /// Processes the request, then delays the response by the duration. A
    /// client that times out meanwhile misses a change that was made.
    Delay(Duration),
    /// Responds 200 with this body, which is not valid JSON, without
    /// processing the request.
    BadBody(String),
    /// Replaces the status of the next successful (2xx) response with this
    /// 2xx status, leaving the body as it is.
    SuccessStatus(u16),
}

impl FaultKind {
    /// Short description for the request log.
    pub fn label(&self) -> String {
        match self {
            Self::Status { code, .. } => format!("status {code}"),
            Self::Delay(duration) => format!("delay {}ms", duration.as_millis()),
            Self::BadBody(_) => "bad body".to_owned(),
            Self::SuccessStatus(code) => format!("success status {code}"),
        }
    }

    /// Builds the response of a fault that replaces processing. Returns
    /// `None` for `Delay` and `SuccessStatus`.
    pub(crate) fn replacement_response(&self) -> Option<Response> {
        match self {
            Self::Status {
                code,
                body,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response = match body {
                    Some(body) => (
                        status,
                        [(header::CONTENT_TYPE, "application/json")],
                        body.clone(),
                    )
                        .into_response(),
                    None => ApiError::for_status(status).into_response(),
                };
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
                }
                Some(response)
            }
            Self::BadBody(body) => {
                let mut response = Response::new(Body::from(body.clone()));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(ATLAS_MEDIA_TYPE),
                );
                Some(response)
            }
            Self::Delay(_) | Self::SuccessStatus(_) => None,
        }
    }
}

/// Fault applied to the next `times` matching requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub matcher: FaultMatcher,
    pub times: u32,
    pub kind: FaultKind,
}

impl Fault {
    pub fn new(matcher: FaultMatcher, times: u32, kind: FaultKind) -> Self {
        Self {
            matcher,
            times,
            kind,
        }
    }

    /// Creates a `Status` fault with the default Atlas error body.
    pub fn status(matcher: FaultMatcher, times: u32, code: u16) -> Self {
        let kind = FaultKind::Status {
            code,
            body: None,
            retry_after: None,
        };
        Self::new(matcher, times, kind)
    }
}

/// Pending faults in the order they were injected. The first pending fault
/// that matches a request applies.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: Vec<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.faults.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    pub fn pending(&self) -> Vec<Fault> {
        self.faults.clone()
    }

    /// Takes one use of the first matching fault that acts before the
    /// request is processed (`Status`, `BadBody` or `Delay`).
    pub fn take_before(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        self.take(method, path, |kind| {
            !matches!(kind, FaultKind::SuccessStatus(_))
        })
    }

    /// Takes one use of the first matching `SuccessStatus` fault.
    pub fn take_success_override(&mut self, method: &str, path: &str) -> Option<u16> {
        match self.take(method, path, |kind| {
            matches!(kind, FaultKind::SuccessStatus(_))
        }) {
            Some(FaultKind::SuccessStatus(code)) => Some(code),
            _ => None,
        }
    }

    fn take(
        &mut self,
        method: &str,
        path: &str,
        applies: impl Fn(&FaultKind) -> bool,
    ) -> Option<FaultKind> {
        let index = self
            .faults
            .iter()
            .position(|f| applies(&f.kind) && f.matcher.matches(method, path))?;
        let fault = &mut self.faults[index];
        let kind = fault.kind.clone();
        fault.times -= 1;
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(kind)
    }
}

/// JSON form of a fault for the `/_sim/faults` routes, for example
/// `{"method":"POST","pathContains":"/endpoint","times":2,"kind":"status","status":429,"retryAfter":3}`.
///
/// `kind` is `status` (uses `status`, `body`, `retryAfter`), `delay` (uses
/// `delayMs`), `badBody` (uses `body`) or `successStatus` (uses `status`,
/// which must be 2xx). `times` defaults to 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    #[serde(default = "one")]
    pub times: u32,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

fn one() -> u32 {
    1
}

impl TryFrom<FaultSpec> for Fault {
    type Error = String;

    fn try_from(spec: FaultSpec) -> Result<Self, Self::Error> {
        if spec.times == 0 {
            return Err("times must be at least 1".to_owned());
        }
        let kind = match spec.kind.as_str() {
            "status" => {
                let code = spec.status.ok_or("kind status requires the status field")?;
                if !(100..=599).contains(&code) {
                    return Err(format!("status {code} is not an HTTP status code"));
                }
                FaultKind::Status {
                    code,
                    body: spec.body,
                    retry_after: spec.retry_after,
                }
            }
            "delay" => {
                let ms = spec
                    .delay_ms
                    .ok_or("kind delay requires the delayMs field")?;
                FaultKind::Delay(Duration::from_millis(ms))
            }
            "badBody" => FaultKind::BadBody(spec.body.unwrap_or_else(|| "<html>".to_owned())),
            "successStatus" => {
                let code = spec
                    .status
                    .ok_or("kind successStatus requires the status field")?;
                if !(200..=299).contains(&code) {
                    return Err(format!("successStatus {code} is not a 2xx status"));
                }
                FaultKind::SuccessStatus(code)
            }
            other => {
                return Err(format!(
                    "invalid kind {other:?}: expected status, delay, badBody or successStatus"
                ));
            }
        };
        let matcher = FaultMatcher {
            method: spec.method,
            path_contains: spec.path_contains,
        };
        Ok(Fault::new(matcher, spec.times, kind))
    }
}

impl From<&Fault> for FaultSpec {
    fn from(fault: &Fault) -> Self {
        let mut spec = FaultSpec {
            method: fault.matcher.method.clone(),
            path_contains: fault.matcher.path_contains.clone(),
            times: fault.times,
            kind: String::new(),
            status: None,
            body: None,
            retry_after: None,
            delay_ms: None,
        };
        match &fault.kind {
            FaultKind::Status {
                code,
                body,
                retry_after,
            } => {
                spec.kind = "status".to_owned();
                spec.status = Some(*code);
                spec.body = body.clone();
                spec.retry_after = *retry_after;
            }
            FaultKind::Delay(duration) => {
                spec.kind = "delay".to_owned();
                spec.delay_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
            }
            FaultKind::BadBody(body) => {
                spec.kind = "badBody".to_owned();
                spec.body = Some(body.clone());
            }
            FaultKind::SuccessStatus(code) => {
                spec.kind = "successStatus".to_owned();
                spec.status = Some(*code);
            }
        }
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_checks_method_and_path() {
        let matcher = FaultMatcher::new("post", "/endpoint");
        assert!(matcher.matches("POST", "/x/endpoint"));
        assert!(!matcher.matches("GET", "/x/endpoint"));
        assert!(!matcher.matches("POST", "/x/other"));
        assert!(FaultMatcher::any().matches("DELETE", "/anything"));
    }

    #[test]
    fn queue_counts_down() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(FaultMatcher::any(), 2, 503));
        assert!(queue.take_before("GET", "/a").is_some());
        assert!(queue.take_before("GET", "/a").is_some());
        assert!(queue.take_before("GET", "/a").is_none());
    }

    #[test]
    fn success_override_waits_for_2xx() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::new(
            FaultMatcher::any(),
            1,
            FaultKind::SuccessStatus(202),
        ));
        assert!(queue.take_before("POST", "/a").is_none());
        assert_eq!(queue.take_success_override("POST", "/a"), Some(202));
        assert_eq!(queue.take_success_override("POST", "/a"), None);
    }

    #[test]
    fn spec_round_trips() {
        let json = r#"{"method":"POST","pathContains":"/endpoint","times":2,"kind":"status","status":429,"retryAfter":3}"#;
        let spec: FaultSpec = serde_json::from_str(json).unwrap();
        let fault = Fault::try_from(spec.clone()).unwrap();
        assert_eq!(fault.times, 2);
        assert_eq!(
            fault.kind,
            FaultKind::Status {
                code: 429,
                body: None,
                retry_after: Some(3)
            }
        );
        assert_eq!(FaultSpec::from(&fault), spec);
    }

    #[test]
    fn spec_rejects_bad_success_status() {
        let spec: FaultSpec =
            serde_json::from_str(r#"{"kind":"successStatus","status":404}"#).unwrap();
        assert!(Fault::try_from(spec).is_err());
    }
}
