//! End-to-end tests of the simulator over HTTP, with shared helpers: a
//! client that signs requests with Digest (reusing one nonce) or Bearer.

mod admin;
mod auth;
mod ec2;
mod faults;
mod links;

use std::borrow::Cow;
use std::sync::Mutex;
use std::time::Duration;

use atlas_sim::{ATLAS_MEDIA_TYPE, AuthMode, SimConfig, Simulator};
use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub const PROJECT: &str = "0123456789abcdef01234567";
pub const OTHER_PROJECT: &str = "76543210fedcba9876543210";
pub const REGION: &str = "US_EAST_1";
pub const SERVICE_NAME: &str = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
pub const VPCE: &str = "vpce-0123456789abcdef0";
pub const OTHER_VPCE: &str = "vpce-0fedcba9876543210";
pub const PUBLIC_KEY: &str = "pubkey";
pub const PRIVATE_KEY: &str = "privkey";
pub const CLIENT_ID: &str = "mdb_sa_id_test";
pub const CLIENT_SECRET: &str = "mdb_sa_sk_test";

pub fn digest_config() -> SimConfig {
    SimConfig {
        auth: AuthMode::Digest {
            public_key: PUBLIC_KEY.to_owned(),
            private_key: PRIVATE_KEY.to_owned(),
        },
        ..SimConfig::default()
    }
}

pub fn both_config() -> SimConfig {
    SimConfig {
        auth: AuthMode::Both {
            public_key: PUBLIC_KEY.to_owned(),
            private_key: PRIVATE_KEY.to_owned(),
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
        },
        ..SimConfig::default()
    }
}

pub fn services_path(project: &str) -> String {
    format!("/api/atlas/v2/groups/{project}/privateEndpoint/AWS/endpointService")
}

pub fn service_path(project: &str, service: &str) -> String {
    format!("{}/{service}", services_path(project))
}

pub fn links_path(project: &str, service: &str) -> String {
    format!("{}/endpoint", service_path(project, service))
}

pub fn link_path(project: &str, service: &str, vpce: &str) -> String {
    format!("{}/{vpce}", links_path(project, service))
}

pub fn link_body(vpce: &str) -> Value {
    serde_json::json!({ "id": vpce })
}

/// Test client for one simulator. Digest requests reuse one nonce with an
/// increasing count, so each call sends exactly one HTTP request once the
/// first challenge has been fetched by [`Api::start`].
pub struct Api {
    pub sim: Simulator,
    pub http: reqwest::Client,
    prompt: Mutex<Option<WwwAuthenticateHeader>>,
}

impl Api {
    /// Starts a simulator and, for Digest configs, fetches a challenge and
    /// clears it from the request log.
    pub async fn start(config: SimConfig) -> Api {
        let digest = !matches!(config.auth, AuthMode::OAuth { .. });
        let sim = Simulator::start(config).await.expect("simulator starts");
        let api = Api {
            sim,
            http: reqwest::Client::new(),
            prompt: Mutex::new(None),
        };
        if digest {
            let prompt = api.fetch_challenge().await;
            *api.prompt.lock().unwrap() = Some(prompt);
            api.sim.clear_requests();
        }
        api
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// Request with the versioned Accept header and no credentials.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(ACCEPT, ATLAS_MEDIA_TYPE)
    }

    pub async fn fetch_challenge(&self) -> WwwAuthenticateHeader {
        let response = self
            .request(Method::GET, &services_path(PROJECT))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let header = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
        digest_auth::parse(header).expect("challenge parses")
    }

    /// `Authorization` value for the next request with the cached nonce.
    pub fn digest_header(&self, method: &Method, path: &str) -> String {
        let mut prompt = self.prompt.lock().unwrap();
        let prompt = prompt.as_mut().expect("digest challenge fetched");
        digest_answer(prompt, method, path, PRIVATE_KEY)
    }

    /// Sends a Digest-signed request with an optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let authorization = self.digest_header(&method, path);
        let mut request = self
            .request(method, path)
            .header(AUTHORIZATION, authorization);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, None).await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn post_link(&self, service: &str, vpce: &str) -> reqwest::Response {
        let body = link_body(vpce);
        self.send(Method::POST, &links_path(PROJECT, service), Some(&body))
            .await
    }

    pub async fn token(&self) -> reqwest::Response {
        self.http
            .post(self.url("/api/oauth/token"))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .header(ACCEPT, "application/json")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
    }

    pub async fn access_token(&self) -> String {
        let response = self.token().await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// Builds a Digest `Authorization` value and increments the prompt's count.
pub fn digest_answer(
    prompt: &mut WwwAuthenticateHeader,
    method: &Method,
    path: &str,
    password: &str,
) -> String {
    let context = AuthContext::new_with_method(
        PUBLIC_KEY,
        password,
        path,
        None::<&[u8]>,
        HttpMethod(Cow::Owned(method.as_str().to_owned())),
    );
    prompt.respond(&context).unwrap().to_header_string()
}

pub async fn status_and_body(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body: Value = response.json().await.expect("error body is JSON");
    (status, body)
}

pub async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
