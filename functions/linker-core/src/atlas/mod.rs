//! The Atlas Admin API v2 client for AWS PrivateLink: the adapter behind [`AtlasPort`].
//!
//! Requests carry the versioned media type, authenticate with a service account or an API key,
//! and are retried with exponential backoff and jitter on 429 (at least `Retry-After`), 5xx,
//! time-outs and connection errors. A GET or token request is also retried when its 2xx body is
//! not JSON. A 401 or 403 is a configuration error and is not retried beyond one renewed
//! credential. Any 2xx is success, since the live service does not always return the status the
//! spec names.

mod auth;
pub mod wire;

use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use tracing::{debug, warn};

pub use auth::AtlasCredentials;
use auth::{AuthState, CachedToken, digest_header, store_challenge};
use wire::{CreateLinkBody, EndpointServiceBody, ErrorBody, LinkBody, MEDIA_TYPE, TokenBody};

use crate::domain::ids::{EndpointServiceId, ProjectId, VpcEndpointId};
use crate::domain::verdict::AtlasLinkState;
use crate::error::{AtlasError, ErrorClass};
use crate::ports::{AtlasPort, EndpointService, LinkOutcome, UnlinkOutcome};

/// How often and how long the client retries transient failures.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff; each later one doubles, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// No retry starts once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// The time-out of one HTTP request.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The operation name of token requests, which are retried on their own.
const TOKEN_OPERATION: &str = "requesting an Atlas access token";

/// A response that arrived with a 2xx, 404 or 409 status.
struct Reply {
    status: StatusCode,
    body: bytes::Bytes,
}

/// The Atlas Admin API client. Cheap to share: one per container.
pub struct AtlasClient {
    http: reqwest::Client,
    base_url: String,
    auth: AuthState,
    retry: RetryPolicy,
}

impl AtlasClient {
    /// Creates a client for `base_url` (such as `https://cloud.mongodb.com`).
    pub fn new(
        base_url: &str,
        credentials: AtlasCredentials,
        retry: RetryPolicy,
    ) -> Result<Self, AtlasError> {
        let http = reqwest::Client::builder()
            .timeout(retry.request_timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!(
                "atlas-privatelink-linker/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| AtlasError {
                operation: "building the HTTP client",
                status: None,
                error_code: None,
                message: e.to_string(),
                class: ErrorClass::Configuration,
            })?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            auth: AuthState::new(credentials),
            retry,
        })
    }

    fn services_path(project: &ProjectId) -> String {
        format!("/api/atlas/v2/groups/{project}/privateEndpoint/AWS/endpointService")
    }

    fn link_path(
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: Option<&VpcEndpointId>,
    ) -> String {
        let base = format!("{}/{service}/endpoint", Self::services_path(project));
        match endpoint {
            Some(id) => format!("{base}/{id}"),
            None => base,
        }
    }

    /// Sends one API request, retrying transient failures. Returns 2xx replies and the 404 or
    /// 409 replies listed in `accepted`; every other status becomes an [`AtlasError`].
    async fn request(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        accepted: &[StatusCode],
    ) -> Result<Reply, AtlasError> {
        let started = Instant::now();
        let mut attempt = 0;
        let mut renewed_credentials = false;
        loop {
            attempt += 1;
            let failure = match self
                .send_once(operation, &method, path, body.as_deref())
                .await
            {
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() || accepted.contains(&status) {
                        let body = response
                            .bytes()
                            .await
                            .map_err(|e| transport_error(operation, &e))?;
                        // A GET is safe to repeat, and a 2xx body that is not JSON (a proxy's
                        // error page, a cut-off transfer) is likely to be transient.
                        if method != Method::GET || !status.is_success() || is_json(&body) {
                            return Ok(Reply { status, body });
                        }
                        (not_json_error(operation, status), None)
                    } else if status == StatusCode::UNAUTHORIZED
                        && !renewed_credentials
                        && self.renew_credentials(&response).await
                    {
                        renewed_credentials = true;
                        attempt -= 1;
                        continue;
                    } else {
                        let retry_after = retry_after(&response);
                        let error = error_from_response(operation, response).await;
                        (error, retry_after)
                    }
                }
                Err(error) => (error, None),
            };
            let (error, retry_after) = failure;
            // A failed token request has used up its own retries, so repeating them for every
            // attempt here would multiply the token requests.
            if error.class != ErrorClass::Retryable
                || error.operation == TOKEN_OPERATION
                || attempt >= self.retry.max_attempts
                || started.elapsed() >= self.retry.max_elapsed
            {
                return Err(error);
            }
            let wait = self.backoff(attempt, retry_after);
            warn!(operation, attempt, status = error.status, error_code = error.error_code.as_deref(), wait_ms = wait.as_millis() as u64, error = %error.message, "retrying Atlas request");
            tokio::time::sleep(wait).await;
        }
    }

    async fn send_once(
        &self,
        operation: &'static str,
        method: &Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<reqwest::Response, AtlasError> {
        let url = format!("{}{path}", self.base_url);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(ACCEPT, MEDIA_TYPE);
        if let Some(body) = body {
            request = request.header(CONTENT_TYPE, MEDIA_TYPE).body(body.to_vec());
        }
        match &self.auth {
            AuthState::OAuth { .. } => {
                let token = self.access_token().await?;
                request = request.header(AUTHORIZATION, format!("Bearer {}", token.expose()));
            }
            AuthState::Digest {
                public_key,
                private_key,
                challenge,
            } => {
                if let Some(header) =
                    digest_header(challenge, public_key, private_key, method, path)
                {
                    request = request.header(AUTHORIZATION, header);
                }
            }
        }
        debug!(operation, method = %method, path, "sending Atlas request");
        request
            .send()
            .await
            .map_err(|e| transport_error(operation, &e))
    }

    /// Prepares new credentials after a 401: a fresh Digest challenge, or a new access token.
    /// Returns false when there is nothing new to try.
    async fn renew_credentials(&self, response: &reqwest::Response) -> bool {
        match &self.auth {
            AuthState::Digest { challenge, .. } => response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .any(|value| {
                    value.trim_start().starts_with("Digest") && store_challenge(challenge, value)
                }),
            AuthState::OAuth { token, .. } => token.lock().await.take().is_some(),
        }
    }

    /// Returns a cached access token, or requests a new one from `/api/oauth/token`.
    async fn access_token(&self) -> Result<crate::secret::Secret, AtlasError> {
        let AuthState::OAuth {
            client_id,
            client_secret,
            token,
        } = &self.auth
        else {
            unreachable!("access_token is only called for service accounts");
        };
        let mut cached = token.lock().await;
        if let Some(current) = cached.as_ref().filter(|t| t.is_fresh()) {
            return Ok(current.value.clone());
        }

        let operation = TOKEN_OPERATION;
        let url = format!("{}/api/oauth/token", self.base_url);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .post(&url)
                .header(ACCEPT, "application/json")
                .basic_auth(client_id, Some(client_secret.expose()))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await;
            let (error, retry_after) = match sent {
                Ok(response) if response.status().is_success() => {
                    match read_token(response).await {
                        Ok(fresh) => {
                            let value = fresh.value.clone();
                            *cached = Some(fresh);
                            debug!("obtained a new Atlas access token");
                            return Ok(value);
                        }
                        Err(error) => (error, None),
                    }
                }
                Ok(response) => {
                    let retry_after = retry_after(&response);
                    (error_from_response(operation, response).await, retry_after)
                }
                Err(error) => (transport_error(operation, &error), None),
            };
            if error.class != ErrorClass::Retryable
                || attempt >= self.retry.max_attempts
                || started.elapsed() >= self.retry.max_elapsed
            {
                return Err(error);
            }
            let wait = self.backoff(attempt, retry_after);
            warn!(operation, attempt, status = error.status, wait_ms = wait.as_millis() as u64, error = %error.message, "retrying Atlas token request");
            tokio::time::sleep(wait).await;
        }
    }

    /// Returns the wait before the next attempt: exponential with full jitter, and never less
    /// than the server's `Retry-After`.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let ceiling = self
            .retry
            .base_backoff
            .saturating_mul(1 << exponent)
            .min(self.retry.max_backoff);
        let jittered = ceiling.mul_f64(fastrand::f64());
        match retry_after {
            Some(minimum) => minimum.max(jittered),
            None => jittered,
        }
    }
}

/// Reads the token from a 2xx response of the token endpoint.
async fn read_token(response: reqwest::Response) -> Result<CachedToken, AtlasError> {
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(TOKEN_OPERATION, &e))?;
    let parsed: TokenBody = serde_json::from_slice(&body).map_err(|e| AtlasError {
        operation: TOKEN_OPERATION,
        status: None,
        error_code: None,
        message: format!("the token response is not the expected JSON: {e}"),
        class: ErrorClass::Retryable,
    })?;
    Ok(CachedToken::new(parsed.access_token, parsed.expires_in))
}

fn parse_json<T: serde::de::DeserializeOwned>(
    operation: &'static str,
    body: &[u8],
) -> Result<T, AtlasError> {
    serde_json::from_slice(body).map_err(|e| AtlasError {
        operation,
        status: None,
        error_code: None,
        message: format!("the response body is not the expected JSON: {e}"),
        class: ErrorClass::Retryable,
    })
}

fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

fn not_json_error(operation: &'static str, status: StatusCode) -> AtlasError {
    AtlasError {
        operation,
        status: Some(status.as_u16()),
        error_code: None,
        message: format!("HTTP {} with a body that is not JSON", status.as_u16()),
        class: ErrorClass::Retryable,
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    // A server asking for more than a minute is capped: the invocation's own time is shorter.
    Some(Duration::from_secs(seconds.min(60)))
}

fn transport_error(operation: &'static str, error: &reqwest::Error) -> AtlasError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    AtlasError {
        operation,
        status: None,
        error_code: None,
        message: format!("{kind}: {}", crate::error::display_chain(error)),
        class: ErrorClass::Retryable,
    }
}

/// Builds an error from a non-success response, reading Atlas's error body when there is one.
async fn error_from_response(operation: &'static str, response: reqwest::Response) -> AtlasError {
    let status = response.status();
    let header_code = response
        .headers()
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.bytes().await.unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let error_code = parsed.error_code.or(header_code);
    let class = match status.as_u16() {
        401 | 403 => ErrorClass::Configuration,
        408 | 429 | 500..=599 => ErrorClass::Retryable,
        _ => ErrorClass::Rejected,
    };
    let detail = parsed.detail.or(parsed.reason).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("no reason given")
            .to_owned()
    });
    let hint = match status.as_u16() {
        401 => "; check the Atlas credentials",
        403 => {
            "; check that the credentials have the Project Owner role on the project and that the function's IP address is on the access list"
        }
        _ => "",
    };
    AtlasError {
        operation,
        status: Some(status.as_u16()),
        error_code: error_code.clone(),
        message: format!(
            "HTTP {} {}: {detail}{hint}",
            status.as_u16(),
            error_code.as_deref().unwrap_or("(no error code)")
        ),
        class,
    }
}

impl AtlasPort for AtlasClient {
    async fn list_endpoint_services(
        &self,
        project: &ProjectId,
    ) -> Result<Vec<EndpointService>, AtlasError> {
        let operation = "listing Atlas endpoint services";
        let reply = self
            .request(
                operation,
                Method::GET,
                &Self::services_path(project),
                None,
                &[],
            )
            .await?;
        let bodies: Vec<EndpointServiceBody> = parse_json(operation, &reply.body)?;
        let mut services = Vec::with_capacity(bodies.len());
        for body in bodies {
            let Some(id) = EndpointServiceId::parse(&body.id) else {
                warn!(project_id = %project, endpoint_service_id = body.id, "skipping an endpoint service whose id is not 24 hex digits");
                continue;
            };
            services.push(EndpointService {
                project_id: project.clone(),
                id,
                endpoint_service_name: body.endpoint_service_name,
                region_name: body.region_name,
                status: body.status,
                interface_endpoints: body.interface_endpoints,
            });
        }
        Ok(services)
    }

    async fn link(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<LinkOutcome, AtlasError> {
        let operation = "linking an endpoint in Atlas";
        let body = serde_json::to_vec(&CreateLinkBody {
            id: endpoint.as_str(),
        })
        .unwrap_or_default();
        let path = Self::link_path(project, service, None);
        let reply = self
            .request(
                operation,
                Method::POST,
                &path,
                Some(body),
                &[StatusCode::CONFLICT],
            )
            .await?;
        if reply.status == StatusCode::CONFLICT {
            return Ok(LinkOutcome::AlreadyLinked);
        }
        match serde_json::from_slice::<LinkBody>(&reply.body) {
            Ok(link) => Ok(LinkOutcome::Created(link.into_state())),
            Err(_) => {
                // The link was accepted, but its body cannot be read: read the link instead.
                warn!(vpc_endpoint_id = %endpoint, status = reply.status.as_u16(), "the link response has no readable body");
                Ok(LinkOutcome::Created(
                    self.get_link(project, service, endpoint).await?,
                ))
            }
        }
    }

    async fn get_link(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<AtlasLinkState, AtlasError> {
        let operation = "reading an Atlas endpoint link";
        let path = Self::link_path(project, service, Some(endpoint));
        let reply = self
            .request(
                operation,
                Method::GET,
                &path,
                None,
                &[StatusCode::NOT_FOUND],
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(AtlasLinkState::not_linked());
        }
        Ok(parse_json::<LinkBody>(operation, &reply.body)?.into_state())
    }

    async fn unlink(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> Result<UnlinkOutcome, AtlasError> {
        let operation = "unlinking an endpoint in Atlas";
        let path = Self::link_path(project, service, Some(endpoint));
        let reply = self
            .request(
                operation,
                Method::DELETE,
                &path,
                None,
                &[StatusCode::NOT_FOUND],
            )
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(UnlinkOutcome::NotLinked);
        }
        Ok(UnlinkOutcome::Requested)
    }
}
