//! API authentication as Atlas performs it: HTTP Digest (MD5, `qop=auth`)
//! with programmatic API keys, and OAuth 2 client-credentials Bearer tokens
//! for service accounts, including the token endpoint.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::ApiError;
use crate::lock;

/// Realm that Atlas names in its Digest challenge.
pub const DIGEST_REALM: &str = "MMS Public API";

const UNAUTHORIZED_DETAIL: &str = "You are not authorized for this resource.";

/// Credentials that the simulator accepts. `Debug` shows the key and client
/// ids but not the private key or client secret.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// Programmatic API key: Digest user = public key, password = private key.
    Digest {
        public_key: String,
        private_key: String,
    },
    /// Service account: client id and secret for the token endpoint.
    OAuth {
        client_id: String,
        client_secret: String,
    },
    /// Both an API key and a service account.
    Both {
        public_key: String,
        private_key: String,
        client_id: String,
        client_secret: String,
    },
}

impl fmt::Debug for AuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let public_key = self.digest_credentials().map(|(key, _)| key);
        let client_id = self.oauth_credentials().map(|(id, _)| id);
        f.debug_struct("AuthMode")
            .field("public_key", &public_key)
            .field("client_id", &client_id)
            .finish_non_exhaustive()
    }
}

impl AuthMode {
    fn digest_credentials(&self) -> Option<(&str, &str)> {
        match self {
            Self::Digest {
                public_key,
                private_key,
            }
            | Self::Both {
                public_key,
                private_key,
                ..
            } => Some((public_key, private_key)),
            Self::OAuth { .. } => None,
        }
    }

    fn oauth_credentials(&self) -> Option<(&str, &str)> {
        match self {
            Self::OAuth {
                client_id,
                client_secret,
            }
            | Self::Both {
                client_id,
                client_secret,
                ..
            } => Some((client_id, client_secret)),
            Self::Digest { .. } => None,
        }
    }
}

/// Authentication scheme that a request presented in its `Authorization`
/// header, whether or not the credentials were valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthKind {
    None,
    Digest,
    Bearer,
    Basic,
    Other,
}

impl AuthKind {
    /// Lower-case name, as in the JSON request log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Digest => "digest",
            Self::Bearer => "bearer",
            Self::Basic => "basic",
            Self::Other => "other",
        }
    }

    pub fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Self::None;
        };
        let scheme = value
            .to_str()
            .unwrap_or("")
            .split_whitespace()
            .next()
            .unwrap_or("");
        match scheme.to_ascii_lowercase().as_str() {
            "digest" => Self::Digest,
            "bearer" => Self::Bearer,
            "basic" => Self::Basic,
            _ => Self::Other,
        }
    }
}

/// Reason a Digest `Authorization` header was rejected, for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DigestRejection {
    Malformed,
    UnknownUser,
    WrongRealm,
    UnsupportedAlgorithm,
    UnsupportedQop,
    UriMismatch,
    WrongResponse,
    UnknownNonce,
    ReusedNonceCount,
    StaleNonce,
}

struct NonceRecord {
    issued_at: Instant,
    used_counts: HashSet<u32>,
}

/// Digest nonces and OAuth tokens issued by the simulator, and the checks
/// that use them.
pub(crate) struct Authenticator {
    mode: AuthMode,
    nonce_ttl: Duration,
    token_ttl: Duration,
    nonces: Mutex<HashMap<String, NonceRecord>>,
    tokens: Mutex<HashMap<String, Instant>>,
}

impl Authenticator {
    pub fn new(mode: AuthMode, nonce_ttl: Duration, token_ttl: Duration) -> Self {
        Self {
            mode,
            nonce_ttl,
            token_ttl,
            nonces: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every issued nonce and token.
    pub fn reset(&self) {
        lock(&self.nonces).clear();
        lock(&self.tokens).clear();
    }

    /// Checks the `Authorization` header of an API request. Returns the 401
    /// response to send when it is missing or invalid, `None` when the
    /// request may proceed.
    pub fn reject_unauthenticated(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, params) = value.split_once(' ').unwrap_or((value, ""));
        match scheme.to_ascii_lowercase().as_str() {
            "digest" => {
                let reason = self.check_digest(method, uri, params).err()?;
                tracing::info!(?reason, path = uri.path(), "digest authentication failed");
                Some(self.challenge(reason == DigestRejection::StaleNonce))
            }
            "bearer" => {
                let reason = self.check_bearer(params.trim()).err()?;
                tracing::info!(reason, path = uri.path(), "bearer authentication failed");
                Some(self.challenge(false))
            }
            _ => Some(self.challenge(false)),
        }
    }

    /// Builds the 401 response with a fresh Digest challenge in the form
    /// Atlas sends it.
    fn challenge(&self, stale: bool) -> Response {
        let nonce = self.issue_nonce();
        let challenge = format!(
            "Digest realm=\"{DIGEST_REALM}\", domain=\"\", nonce=\"{nonce}\", \
             algorithm=MD5, qop=\"auth\", stale={stale}"
        );
        let mut response = ApiError::unauthorized(UNAUTHORIZED_DETAIL).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }

    fn issue_nonce(&self) -> String {
        let nonce = STANDARD.encode(rand::random::<[u8; 24]>());
        let now = Instant::now();
        let mut nonces = lock(&self.nonces);
        // Expired nonces stay known for one more lifetime so that a client
        // using one gets `stale=true` rather than an unknown-nonce rejection.
        let keep_for = self.nonce_ttl.saturating_mul(2);
        nonces.retain(|_, record| now.saturating_duration_since(record.issued_at) < keep_for);
        nonces.insert(
            nonce.clone(),
            NonceRecord {
                issued_at: now,
                used_counts: HashSet::new(),
            },
        );
        nonce
    }

    fn check_digest(
        &self,
        method: &Method,
        uri: &Uri,
        params: &str,
    ) -> Result<(), DigestRejection> {
        let (user, password) = self
            .mode
            .digest_credentials()
            .ok_or(DigestRejection::UnknownUser)?;
        let fields = parse_auth_params(params).ok_or(DigestRejection::Malformed)?;
        let field = |name: &str| fields.get(name).map(String::as_str);
        let required = |name: &str| field(name).ok_or(DigestRejection::Malformed);

        if required("username")? != user {
            return Err(DigestRejection::UnknownUser);
        }
        if required("realm")? != DIGEST_REALM {
            return Err(DigestRejection::WrongRealm);
        }
        let algorithm = field("algorithm").unwrap_or("MD5");
        if !algorithm.eq_ignore_ascii_case("MD5") {
            return Err(DigestRejection::UnsupportedAlgorithm);
        }
        if required("qop")? != "auth" {
            return Err(DigestRejection::UnsupportedQop);
        }
        let request_uri = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let digest_uri = required("uri")?;
        if digest_uri != request_uri {
            return Err(DigestRejection::UriMismatch);
        }
        let nonce = required("nonce")?;
        let nc_text = required("nc")?;
        let cnonce = required("cnonce")?;
        let nonce_count = (nc_text.len() == 8)
            .then(|| u32::from_str_radix(nc_text, 16).ok())
            .flatten()
            .ok_or(DigestRejection::Malformed)?;

        let ha1 = md5_hex(format!("{user}:{DIGEST_REALM}:{password}"));
        let ha2 = md5_hex(format!("{method}:{digest_uri}"));
        let expected = md5_hex(format!("{ha1}:{nonce}:{nc_text}:{cnonce}:auth:{ha2}"));
        if !required("response")?.eq_ignore_ascii_case(&expected) {
            return Err(DigestRejection::WrongResponse);
        }

        let mut nonces = lock(&self.nonces);
        let record = nonces.get_mut(nonce).ok_or(DigestRejection::UnknownNonce)?;
        if record.issued_at.elapsed() >= self.nonce_ttl {
            return Err(DigestRejection::StaleNonce);
        }
        // A nonce may be reused with any count not seen before, so that
        // concurrent requests whose counts arrive out of order still pass.
        if !record.used_counts.insert(nonce_count) {
            return Err(DigestRejection::ReusedNonceCount);
        }
        Ok(())
    }

    fn check_bearer(&self, token: &str) -> Result<(), &'static str> {
        if self.mode.oauth_credentials().is_none() {
            return Err("bearer tokens are not enabled");
        }
        let mut tokens = lock(&self.tokens);
        let expires_at = *tokens.get(token).ok_or("unknown token")?;
        if Instant::now() >= expires_at {
            tokens.remove(token);
            return Err("expired token");
        }
        Ok(())
    }

    /// Handles `POST /api/oauth/token`: HTTP Basic client credentials and a
    /// form body with `grant_type=client_credentials`.
    ///
    /// NOTE: Atlas does not document the body of a failed token request. The
    /// simulator sends its usual 401 body for bad credentials and a 400
    /// `INVALID_GRANT_TYPE` body for any other grant type.
    pub fn issue_token(&self, headers: &HeaderMap, grant_type: Option<&str>) -> Response {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_basic);
        let valid = match (self.mode.oauth_credentials(), &presented) {
            (Some((id, secret)), Some((given_id, given_secret))) => {
                id == given_id && secret == given_secret
            }
            _ => false,
        };
        if !valid {
            tracing::info!(
                credentials_present = presented.is_some(),
                "token request rejected"
            );
            let mut response =
                ApiError::unauthorized("Invalid client credentials.").into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"MMS Public API\""),
            );
            return response;
        }
        if grant_type != Some("client_credentials") {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_GRANT_TYPE",
                "The grant_type form field must be client_credentials.",
            )
            .into_response();
        }

        let token = format!("sim-{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
        let expires_at = Instant::now() + self.token_ttl;
        lock(&self.tokens).insert(token.clone(), expires_at);
        let body = json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.token_ttl.as_secs(),
        });
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body.to_string(),
        )
            .into_response()
    }
}

fn md5_hex(input: String) -> String {
    Md5::digest(input.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Decodes `Basic base64(id:secret)` into the id and secret.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Parses the comma-separated `name=value` list of an `Authorization`
/// header (RFC 7235 auth-params), where a value is a token or a quoted
/// string with backslash escapes. Names are lower-cased.
fn parse_auth_params(input: &str) -> Option<HashMap<String, String>> {
    let mut fields = HashMap::new();
    let mut rest = input.trim();
    while !rest.is_empty() {
        let (name, after_name) = rest.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() {
            return None;
        }
        let after_name = after_name.trim_start();
        let (value, after_value) = if let Some(quoted) = after_name.strip_prefix('"') {
            parse_quoted(quoted)?
        } else {
            let end = after_name.find(',').unwrap_or(after_name.len());
            (after_name[..end].trim().to_owned(), &after_name[end..])
        };
        fields.insert(name, value);
        rest = after_value.trim_start();
        if let Some(next) = rest.strip_prefix(',') {
            rest = next.trim_start();
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(fields)
}

/// Reads a quoted string whose opening quote is already consumed. Returns
/// the unescaped value and the text after the closing quote.
fn parse_quoted(input: &str) -> Option<(String, &str)> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((value, &input[index + 1..])),
            '\\' => value.push(chars.next()?.1),
            _ => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_quoted_and_tokens() {
        let fields = parse_auth_params(
            r#"username="key", realm="MMS Public API", qop=auth, nc=00000001, uri="/a?b=1,2""#,
        )
        .unwrap();
        assert_eq!(fields["username"], "key");
        assert_eq!(fields["realm"], "MMS Public API");
        assert_eq!(fields["qop"], "auth");
        assert_eq!(fields["nc"], "00000001");
        assert_eq!(fields["uri"], "/a?b=1,2");
    }

    #[test]
    fn params_reject_garbage() {
        assert!(parse_auth_params(r#"username="unterminated"#).is_none());
        assert!(parse_auth_params("novalue").is_none());
    }

    #[test]
    fn md5_matches_rfc2617_example() {
        // Worked example of RFC 2617 section 3.5.
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life".into());
        let ha2 = md5_hex("GET:/dir/index.html".into());
        let response = md5_hex(format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn basic_decodes() {
        let header = format!("Basic {}", STANDARD.encode("id:se:cret"));
        let parsed = parse_basic(&header);
        assert_eq!(parsed, Some(("id".into(), "se:cret".into())));
    }
}
