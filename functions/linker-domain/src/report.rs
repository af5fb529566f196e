//! The result the functions return and log: one entry per endpoint they looked at.

use serde::Serialize;

use crate::ids::{EndpointServiceId, ProjectId, VpcEndpointId};
use crate::verdict::{AtlasLinkState, Ec2State, Verdict, classify};

/// The action the function took on one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Registered with the Atlas endpoint service.
    Linked,
    /// Atlas already listed the endpoint, so nothing was sent.
    AlreadyLinked,
    /// Dry run: the endpoint would have been linked.
    WouldLink,
    /// Deregistered from the Atlas endpoint service.
    Unlinked,
    /// Atlas had already removed the link (404 on delete).
    AlreadyUnlinked,
    /// Dry run: the endpoint would have been unlinked.
    WouldUnlink,
    /// No endpoint service of the configured projects lists the deleted endpoint.
    NotLinked,
    /// EC2 reported the delete as unsuccessful, so the link stays.
    DeleteFailed,
    /// Not acted on, for the reason in `detail`.
    Ignored,
    /// Both sides read and reported; nothing needed doing, or the reason is in `detail`.
    Checked,
    /// A failed link was unlinked and linked again.
    Repaired,
    /// Dry run: a failed link would have been unlinked and linked again.
    WouldRepair,
    /// A link whose endpoint is gone, left alone because this tool does not manage the endpoint.
    Unmanaged,
}

impl Action {
    /// Returns the action's name as the result spells it, such as `alreadyLinked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linked => "linked",
            Self::AlreadyLinked => "alreadyLinked",
            Self::WouldLink => "wouldLink",
            Self::Unlinked => "unlinked",
            Self::AlreadyUnlinked => "alreadyUnlinked",
            Self::WouldUnlink => "wouldUnlink",
            Self::NotLinked => "notLinked",
            Self::DeleteFailed => "deleteFailed",
            Self::Ignored => "ignored",
            Self::Checked => "checked",
            Self::Repaired => "repaired",
            Self::WouldRepair => "wouldRepair",
            Self::Unmanaged => "unmanaged",
        }
    }
}

/// One endpoint in the result, with both sides as read after acting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointReport {
    pub vpc_endpoint_id: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_service_id: Option<EndpointServiceId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atlas_status: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub atlas_delete_requested: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atlas_error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The reason the endpoint was ignored, the delete failed or the sweep left it alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The account that owns the endpoint, as EC2 reports it (reconcile sweep only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Whether this tool manages the endpoint (reconcile sweep only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
    /// Seconds since EC2 created the endpoint, for pairs that are converging or mismatched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// True when a mismatch has lasted longer than the configured limit.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub overdue: bool,
}

impl EndpointReport {
    /// Reports an endpoint that was not acted on.
    pub fn ignored(endpoint_id: &str, reason: impl Into<String>) -> Self {
        Self::bare(endpoint_id, Action::Ignored, Some(reason.into()))
    }

    /// Reports an action without any state read back.
    pub fn bare(endpoint_id: &str, action: Action, detail: Option<String>) -> Self {
        Self {
            vpc_endpoint_id: endpoint_id.to_owned(),
            action,
            project_id: None,
            endpoint_service_id: None,
            ec2_state: None,
            atlas_status: None,
            atlas_delete_requested: false,
            atlas_error_message: None,
            verdict: None,
            detail,
            account_id: None,
            managed: None,
            age_seconds: None,
            overdue: false,
        }
    }

    /// Reports an action with both sides read back and classified.
    pub fn checked(
        endpoint_id: &VpcEndpointId,
        action: Action,
        target: Option<(&ProjectId, &EndpointServiceId)>,
        ec2: &Ec2State,
        atlas: &AtlasLinkState,
    ) -> Self {
        Self {
            vpc_endpoint_id: endpoint_id.to_string(),
            action,
            project_id: target.map(|(project, _)| project.clone()),
            endpoint_service_id: target.map(|(_, service)| service.clone()),
            ec2_state: Some(ec2.as_str().to_owned()),
            atlas_status: Some(atlas.status.as_str().to_owned()),
            atlas_delete_requested: atlas.delete_requested,
            atlas_error_message: atlas.error_message.clone(),
            verdict: Some(classify(ec2, atlas)),
            detail: None,
            account_id: None,
            managed: None,
            age_seconds: None,
            overdue: false,
        }
    }
}

/// Whether the function acted on a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Processed,
    Ignored,
}

/// The function's JSON result for one delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    pub outcome: Outcome,
    /// The reason the whole delivery was ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub dry_run: bool,
    pub endpoints: Vec<EndpointReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_match_serde() {
        let actions = [
            Action::Linked,
            Action::AlreadyLinked,
            Action::WouldLink,
            Action::Unlinked,
            Action::AlreadyUnlinked,
            Action::WouldUnlink,
            Action::NotLinked,
            Action::DeleteFailed,
            Action::Ignored,
            Action::Checked,
            Action::Repaired,
            Action::WouldRepair,
            Action::Unmanaged,
        ];
        for action in actions {
            let serialized = serde_json::to_value(action).unwrap();
            assert_eq!(serialized, action.as_str(), "{action:?}");
        }
    }
}
