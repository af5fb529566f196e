//! A recording HTTP reverse proxy on 127.0.0.1 in front of moto.
//!
//! moto 5.2.5 can record requests itself (`/moto-api/recorder/`), but the recording also contains
//! the benchmark's own fixture calls and the Atlas simulator's EC2 look-ups, and it is written
//! to a file in moto's working directory. Pointing only the function's `AWS_ENDPOINT_URL` at
//! this proxy counts exactly the AWS requests the function sends.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderMap, TRANSFER_ENCODING};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Largest request body the proxy reads. EC2 and Secrets Manager requests of the functions are
/// a few kilobytes.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Headers that belong to one connection and are not forwarded. The HTTP clients on both sides
/// set `Content-Length` from the body they send.
const HOP_BY_HOP: [HeaderName; 4] = [CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING];

/// One AWS request that passed through the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsCall {
    /// Signing name from the SigV4 credential scope, such as `ec2` or `secretsmanager`.
    pub service: String,
    /// API operation, from the `Action` form field (EC2 query protocol) or from `X-Amz-Target`
    /// (JSON protocol), such as `DescribeVpcEndpoints` or `GetSecretValue`.
    pub action: String,
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    calls: Mutex<Vec<AwsCall>>,
}

/// The running proxy. The server task stops when this value is dropped.
pub struct RecordingProxy {
    address: SocketAddr,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
}

impl RecordingProxy {
    /// Starts the proxy on a free 127.0.0.1 port, forwarding to `upstream` (such as
    /// `http://127.0.0.1:40123`).
    pub async fn start(upstream: &str) -> Result<RecordingProxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("failed to bind the recording proxy on 127.0.0.1: {e}"))?;
        let address = listener
            .local_addr()
            .map_err(|e| format!("failed to read the recording proxy's address: {e}"))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("failed to build the proxy's HTTP client: {e}"))?;
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            calls: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            // A serve error leaves the function without AWS, which its invocation reports.
            let _ = axum::serve(listener, app).await;
        });
        Ok(RecordingProxy {
            address,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT`, the value for the function's `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Number of requests recorded so far, to pass to [`Self::calls_since`] later.
    pub fn mark(&self) -> usize {
        self.lock_calls().len()
    }

    /// Returns the requests recorded after `mark`, oldest first.
    pub fn calls_since(&self, mark: usize) -> Vec<AwsCall> {
        self.lock_calls().get(mark..).unwrap_or_default().to_vec()
    }

    fn lock_calls(&self) -> std::sync::MutexGuard<'_, Vec<AwsCall>> {
        self.state
            .calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Records the request and sends it on to the upstream server unchanged.
async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(error) => {
            let message = format!("failed to read the request body: {error}");
            return (StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let call = AwsCall {
        service: signing_name(&parts.headers),
        action: action(&parts.headers, &body),
    };
    state
        .calls
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(call);

    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut upstream_request = state
        .client
        .request(parts.method, format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            upstream_request = upstream_request.header(name, value);
        }
    }
    let upstream_response = match upstream_request.send().await {
        Ok(response) => response,
        Err(error) => {
            let message = format!("failed to reach {}: {error}", state.upstream);
            return (StatusCode::BAD_GATEWAY, message).into_response();
        }
    };

    let status = upstream_response.status();
    let headers = upstream_response.headers().clone();
    let body = match upstream_response.bytes().await {
        Ok(body) => body,
        Err(error) => {
            let message = format!("failed to read the response of {}: {error}", state.upstream);
            return (StatusCode::BAD_GATEWAY, message).into_response();
        }
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// Reads the service from `Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/…`.
fn signing_name(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_owned()
}

/// Reads the operation name of an AWS query-protocol or JSON-protocol request.
fn action(headers: &HeaderMap, body: &Bytes) -> String {
    if let Some(target) = headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
    {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|field| field.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn query_protocol_action() {
        let map = headers(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ec2/aws4_request, \
             SignedHeaders=host, Signature=00",
        )]);
        let body = Bytes::from_static(b"Action=DescribeVpcEndpoints&Version=2016-11-15");
        assert_eq!(signing_name(&map), "ec2");
        assert_eq!(action(&map, &body), "DescribeVpcEndpoints");
    }

    #[test]
    fn json_protocol_action() {
        let map = headers(&[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/secretsmanager/aws4_request",
            ),
            ("x-amz-target", "secretsmanager.GetSecretValue"),
        ]);
        let body = Bytes::from_static(b"{\"SecretId\":\"s\"}");
        assert_eq!(signing_name(&map), "secretsmanager");
        assert_eq!(action(&map, &body), "GetSecretValue");
    }

    #[test]
    fn unsigned_request() {
        let map = HeaderMap::new();
        assert_eq!(signing_name(&map), "unsigned");
        assert_eq!(action(&map, &Bytes::new()), "unknown");
    }
}
