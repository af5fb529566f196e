//! The JSON shapes of the Atlas Admin API v2 that the client reads and writes.

use serde::{Deserialize, Serialize};

use crate::domain::verdict::{AtlasLinkState, AtlasStatus};

/// The versioned media type of the private endpoint operations.
pub const MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

/// An AWS endpoint service as `GET …/privateEndpoint/AWS/endpointService` lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointServiceBody {
    pub id: String,
    #[serde(default)]
    pub endpoint_service_name: Option<String>,
    #[serde(default)]
    pub region_name: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub interface_endpoints: Vec<String>,
}

/// An AWS interface endpoint link as Atlas returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkBody {
    #[serde(default)]
    pub connection_status: Option<String>,
    #[serde(default)]
    pub delete_requested: Option<bool>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl LinkBody {
    pub fn into_state(self) -> AtlasLinkState {
        let status = match self.connection_status.as_deref() {
            Some(text) => AtlasStatus::parse(text),
            None => AtlasStatus::None,
        };
        AtlasLinkState {
            status,
            delete_requested: self.delete_requested.unwrap_or(false),
            error_message: self.error_message.filter(|m| !m.trim().is_empty()),
        }
    }
}

/// The body of a link request.
#[derive(Debug, Serialize)]
pub struct CreateLinkBody<'a> {
    pub id: &'a str,
}

/// Atlas's error body: `{"error": 404, "errorCode": "…", "detail": "…", "reason": "…"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// The token endpoint's response to a client-credentials request.
#[derive(Debug, Deserialize)]
pub struct TokenBody {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<u64>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}
