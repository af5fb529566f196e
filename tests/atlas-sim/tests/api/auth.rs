//! Digest and OAuth authentication, and the `Accept` check.

use std::time::Duration;

use atlas_sim::{AuthKind, AuthMode, ERROR_CODE_HEADER, SimConfig};
use reqwest::header::{ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::*;

#[tokio::test]
async fn digest_challenge_matches_atlas() {
    let api = Api::start(digest_config()).await;
    let response = api
        .request(Method::GET, &services_path(PROJECT))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with(r#"Digest realm="MMS Public API", domain="", nonce=""#),
        "{challenge}"
    );
    assert!(
        challenge.ends_with(r#"algorithm=MD5, qop="auth", stale=false"#),
        "{challenge}"
    );
    assert!(response.headers().get(ERROR_CODE_HEADER).is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], 401);
    assert_eq!(body["reason"], "Unauthorized");
    assert!(body.get("errorCode").is_none());
}

#[tokio::test]
async fn digest_authenticates_request() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);

    let response = api.get(&services_path(PROJECT)).await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, ATLAS_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!([]));
    let records = api.sim.requests();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].auth, AuthKind::Digest);
    assert_eq!(records[0].status, 200);
}

#[tokio::test]
async fn digest_nonce_reuse_and_replay() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);

    let first = api.digest_header(&Method::GET, &path);
    let second = api.digest_header(&Method::GET, &path);
    assert!(first.contains("nc=00000001"), "{first}");
    assert!(second.contains("nc=00000002"), "{second}");

    for header in [&second, &first] {
        let response = api
            .request(Method::GET, &path)
            .header(AUTHORIZATION, header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{header}");
    }

    let replay = api
        .request(Method::GET, &path)
        .header(AUTHORIZATION, &first)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn digest_rejects_wrong_password() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);
    let mut prompt = api.fetch_challenge().await;
    let header = digest_answer(&mut prompt, &Method::GET, &path, "wrong");

    let response = api
        .request(Method::GET, &path)
        .header(AUTHORIZATION, header)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.ends_with("stale=false"), "{challenge}");
}

#[tokio::test]
async fn digest_rejects_other_uri() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let signed_for = service_path(PROJECT, "aaaaaaaaaaaaaaaaaaaaaaaa");
    let header = api.digest_header(&Method::GET, &signed_for);

    let response = api
        .request(Method::GET, &services_path(PROJECT))
        .header(AUTHORIZATION, header)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn digest_rejects_other_method() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);
    let header = api.digest_header(&Method::POST, &path);

    let response = api
        .request(Method::GET, &path)
        .header(AUTHORIZATION, header)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn digest_expired_nonce_is_stale() {
    let config = SimConfig {
        nonce_ttl: Duration::from_millis(200),
        ..digest_config()
    };
    let api = Api::start(config).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);
    sleep_ms(300).await;

    let response = api.get(&path).await;

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.ends_with("stale=true"), "{challenge}");
}

#[tokio::test]
async fn oauth_token_flow() {
    let api = Api::start(both_config()).await;
    api.sim.add_project(PROJECT);

    let response = api.token().await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();

    let listed = api
        .request(Method::GET, &services_path(PROJECT))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);

    let records = api.sim.requests();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].auth, AuthKind::Basic);
    assert_eq!(records[1].auth, AuthKind::Bearer);
    assert_eq!(api.sim.token_requests(), 1);
}

#[tokio::test]
async fn oauth_rejects_bad_client() {
    let api = Api::start(both_config()).await;

    let response = api
        .http
        .post(api.url("/api/oauth/token"))
        .basic_auth(CLIENT_ID, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();

    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], 401);
    assert_eq!(api.sim.token_requests(), 1);
}

#[tokio::test]
async fn oauth_rejects_missing_basic() {
    let api = Api::start(both_config()).await;

    let response = api
        .http
        .post(api.url("/api/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oauth_rejects_other_grant() {
    let api = Api::start(both_config()).await;

    let response = api
        .http
        .post(api.url("/api/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();

    let (status, body) = status_and_body(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorCode"], "INVALID_GRANT_TYPE");
}

#[tokio::test]
async fn oauth_token_expires() {
    let config = SimConfig {
        token_ttl: Duration::from_millis(200),
        ..both_config()
    };
    let api = Api::start(config).await;
    api.sim.add_project(PROJECT);
    let token = api.access_token().await;
    let path = services_path(PROJECT);

    let fresh = api
        .request(Method::GET, &path)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);

    sleep_ms(300).await;
    let expired = api
        .request(Method::GET, &path)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn oauth_only_rejects_digest() {
    let config = SimConfig {
        auth: AuthMode::OAuth {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
        },
        ..SimConfig::default()
    };
    let api = Api::start(config).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);
    let mut prompt = api.fetch_challenge().await;
    let header = digest_answer(&mut prompt, &Method::GET, &path, PRIVATE_KEY);

    let response = api
        .request(Method::GET, &path)
        .header(AUTHORIZATION, header)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let token = api.access_token().await;
    let bearer = api
        .request(Method::GET, &path)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_bearer_rejected() {
    let api = Api::start(both_config()).await;
    api.sim.add_project(PROJECT);

    let response = api
        .request(Method::GET, &services_path(PROJECT))
        .bearer_auth("sim-forged")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn accept_requires_version() {
    let api = Api::start(digest_config()).await;
    api.sim.add_project(PROJECT);
    let path = services_path(PROJECT);

    for accept in [
        Some("application/json"),
        Some("application/vnd.atlas.2025-03-12+json"),
        Some("*/*"),
        None,
    ] {
        let mut request = api
            .http
            .get(api.url(&path))
            .header(AUTHORIZATION, api.digest_header(&Method::GET, &path));
        if let Some(accept) = accept {
            request = request.header(ACCEPT, accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()[ERROR_CODE_HEADER],
            "INVALID_VERSION_DATE"
        );
        let (status, body) = status_and_body(response).await;
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE, "Accept {accept:?}");
        assert_eq!(body["errorCode"], "INVALID_VERSION_DATE");
    }
}
