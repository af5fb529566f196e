//! Authentication to the Atlas Admin API: a service account's OAuth 2.0 access token, reused
//! until shortly before it expires, or a programmatic API key through HTTP Digest, reusing the
//! server's nonce with an increasing nonce count so that most requests need no extra round trip.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};

use crate::secret::Secret;

/// Credentials for the Atlas Admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtlasCredentials {
    /// A service account: OAuth 2.0 client credentials.
    ServiceAccount {
        client_id: String,
        client_secret: Secret,
    },
    /// A programmatic API key: HTTP Digest with the public key as user name.
    ApiKey {
        public_key: String,
        private_key: Secret,
    },
}

/// A token is renewed once less than this remains of its lifetime.
const TOKEN_RENEWAL_MARGIN: Duration = Duration::from_secs(120);

/// An access token and when it stops being worth sending.
#[derive(Clone)]
pub(crate) struct CachedToken {
    pub value: Secret,
    pub renew_at: Instant,
}

impl CachedToken {
    pub fn new(value: String, expires_in: Option<u64>) -> Self {
        // Atlas issues one-hour tokens; a response without `expires_in` is assumed to match.
        let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + lifetime.saturating_sub(TOKEN_RENEWAL_MARGIN);
        Self {
            value: Secret::new(value),
            renew_at,
        }
    }

    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

/// The state each credential kind keeps between requests.
pub(crate) enum AuthState {
    OAuth {
        client_id: String,
        client_secret: Secret,
        token: tokio::sync::Mutex<Option<CachedToken>>,
    },
    Digest {
        public_key: String,
        private_key: Secret,
        challenge: Mutex<Option<WwwAuthenticateHeader>>,
    },
}

impl AuthState {
    pub fn new(credentials: AtlasCredentials) -> Self {
        match credentials {
            AtlasCredentials::ServiceAccount {
                client_id,
                client_secret,
            } => Self::OAuth {
                client_id,
                client_secret,
                token: tokio::sync::Mutex::new(None),
            },
            AtlasCredentials::ApiKey {
                public_key,
                private_key,
            } => Self::Digest {
                public_key,
                private_key,
                challenge: Mutex::new(None),
            },
        }
    }
}

/// Builds the `Authorization` header for a request from the last Digest challenge, if one is
/// known. `uri` is the request's path and query, as Digest hashes it.
pub(crate) fn digest_header(
    challenge: &Mutex<Option<WwwAuthenticateHeader>>,
    public_key: &str,
    private_key: &Secret,
    method: &reqwest::Method,
    uri: &str,
) -> Option<String> {
    let mut guard = challenge
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let prompt = guard.as_mut()?;
    let mut context = AuthContext::new(public_key, private_key.expose(), uri);
    context.method = HttpMethod::from(method.as_str());
    match prompt.respond(&context) {
        Ok(header) => Some(header.to_header_string()),
        Err(_) => {
            *guard = None;
            None
        }
    }
}

/// Stores a new Digest challenge from a `WWW-Authenticate` header. Returns false when the header
/// is not a Digest challenge this client supports.
pub(crate) fn store_challenge(
    challenge: &Mutex<Option<WwwAuthenticateHeader>>,
    header: &str,
) -> bool {
    match digest_auth::parse(header) {
        Ok(prompt) => {
            *challenge
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(prompt);
            true
        }
        Err(_) => false,
    }
}
