//! Reads the Atlas credentials from a Secrets Manager secret, once per container.
//!
//! The secret is a JSON document with the field names the MongoDB Atlas Terraform provider uses:
//! `client_id` and `client_secret` for a service account, or `public_key` and `private_key` for
//! an API key, and optionally `base_url`.

use aws_config::SdkConfig;
use serde::Deserialize;

use crate::atlas::AtlasCredentials;
use crate::error::{LinkerError, display_chain};
use crate::secret::Secret;

/// The credentials a secret holds, and the base URL if it names one.
#[derive(Debug)]
pub struct SecretContents {
    pub credentials: AtlasCredentials,
    pub base_url: Option<String>,
}

#[derive(Deserialize)]
struct SecretDocument {
    client_id: Option<String>,
    client_secret: Option<String>,
    public_key: Option<String>,
    private_key: Option<String>,
    base_url: Option<String>,
}

/// Fetches and parses the secret named `secret_id` (a name or an ARN).
pub async fn read_atlas_secret(
    config: &SdkConfig,
    secret_id: &str,
) -> Result<SecretContents, LinkerError> {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|error| {
            LinkerError::Configuration(format!(
                "reading secret {secret_id} named by ATLAS_CREDENTIALS_SECRET failed: {}",
                display_chain(&error)
            ))
        })?;
    let text = output.secret_string().ok_or_else(|| {
        LinkerError::Configuration(format!(
            "secret {secret_id} has no SecretString; store the credentials as JSON text"
        ))
    })?;
    parse_secret(secret_id, text)
}

/// Parses the secret's JSON text. Errors name the secret and the fields, never the values.
pub fn parse_secret(secret_id: &str, text: &str) -> Result<SecretContents, LinkerError> {
    let document: SecretDocument = serde_json::from_str(text).map_err(|_| {
        LinkerError::Configuration(format!(
            "secret {secret_id} is not a JSON object with string fields client_id and client_secret, or public_key and private_key"
        ))
    })?;
    let present = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    let credentials = match (
        present(&document.client_id) && present(&document.client_secret),
        present(&document.public_key) && present(&document.private_key),
    ) {
        (true, _) => AtlasCredentials::ServiceAccount {
            client_id: document.client_id.unwrap_or_default().trim().to_owned(),
            client_secret: Secret::new(document.client_secret.unwrap_or_default().trim()),
        },
        (false, true) => AtlasCredentials::ApiKey {
            public_key: document.public_key.unwrap_or_default().trim().to_owned(),
            private_key: Secret::new(document.private_key.unwrap_or_default().trim()),
        },
        (false, false) => {
            return Err(LinkerError::Configuration(format!(
                "secret {secret_id} needs client_id and client_secret, or public_key and private_key"
            )));
        }
    };
    Ok(SecretContents {
        credentials,
        base_url: document.base_url.filter(|url| !url.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_service_account() {
        let parsed =
            parse_secret("s", r#"{"client_id":"mdb_sa_id_1","client_secret":"shh"}"#).unwrap();
        assert!(matches!(
            parsed.credentials,
            AtlasCredentials::ServiceAccount { .. }
        ));
        assert_eq!(parsed.base_url, None);
    }

    #[test]
    fn secret_api_key_with_base_url() {
        let text = r#"{"public_key":"abcdefgh","private_key":"k","base_url":"https://cloud.mongodbgov.com"}"#;
        let parsed = parse_secret("s", text).unwrap();
        assert!(matches!(
            parsed.credentials,
            AtlasCredentials::ApiKey { .. }
        ));
        assert_eq!(
            parsed.base_url.as_deref(),
            Some("https://cloud.mongodbgov.com")
        );
    }

    #[test]
    fn secret_missing_pair_rejected() {
        let error = parse_secret("s", r#"{"client_id":"id-only"}"#).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("needs client_id and client_secret")
        );
    }

    #[test]
    fn secret_error_hides_values() {
        let error = parse_secret(
            "s",
            r#"{"client_id": 5, "client_secret": "topsecretvalue"}"#,
        )
        .unwrap_err();
        assert!(!error.to_string().contains("topsecretvalue"));
    }
}
