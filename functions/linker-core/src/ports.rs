//! The two services the linker talks to, as small traits, so the linking logic can be tested
//! with fakes and run against the real adapters in [`crate::aws`] and [`crate::atlas`].

use std::fmt;
use std::future::Future;

use crate::domain::ids::{AccountId, AwsRegion, EndpointServiceId, ProjectId, VpcEndpointId};
use crate::domain::verdict::{AtlasLinkState, Ec2State};
use crate::error::{AtlasError, Ec2Error};

/// An account and region in which EC2 is read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ec2Location {
    /// The account that owns the endpoints; `None` for the function's own account.
    pub account: Option<AccountId>,
    pub region: AwsRegion,
}

impl Ec2Location {
    pub fn new(account: Option<AccountId>, region: AwsRegion) -> Self {
        Self { account, region }
    }

    /// Returns the function's own account in `region`.
    pub fn own(region: AwsRegion) -> Self {
        Self::new(None, region)
    }
}

impl fmt::Display for Ec2Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            Some(account) => write!(f, "{} of account {account}", self.region),
            None => write!(f, "{}", self.region),
        }
    }
}

/// A VPC endpoint as EC2 describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ec2Endpoint {
    pub id: String,
    /// `Interface`, `Gateway`, `GatewayLoadBalancer`, … as EC2 spells it.
    pub endpoint_type: String,
    pub service_name: String,
    pub state: Ec2State,
    pub vpc_id: Option<String>,
    pub owner_id: Option<String>,
    /// The endpoint's tags as key and value.
    pub tags: Vec<(String, String)>,
    /// When EC2 created the endpoint, in seconds since the Unix epoch.
    pub created_at: Option<i64>,
}

impl Ec2Endpoint {
    /// Returns the value of the tag `key`, if the endpoint carries it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads VPC endpoints from EC2.
pub trait Ec2Port: Send + Sync {
    /// Describes one endpoint; `Ok(None)` when EC2 does not know the id there.
    fn describe_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
    ) -> impl Future<Output = Result<Option<Ec2Endpoint>, Ec2Error>> + Send;

    /// Lists the endpoints that target `service_name`, in every state EC2 reports.
    fn list_endpoints(
        &self,
        at: &Ec2Location,
        service_name: &str,
    ) -> impl Future<Output = Result<Vec<Ec2Endpoint>, Ec2Error>> + Send;

    /// Sets the tag `key` to `value` on an endpoint.
    fn tag_endpoint(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), Ec2Error>> + Send;
}

/// An Atlas endpoint service for AWS PrivateLink, as the Admin API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointService {
    pub project_id: ProjectId,
    pub id: EndpointServiceId,
    /// `null` while Atlas is still building the service.
    pub endpoint_service_name: Option<String>,
    /// Atlas's region spelling, such as `US_EAST_1`.
    pub region_name: Option<String>,
    pub status: Option<String>,
    pub interface_endpoints: Vec<String>,
}

/// The outcome of a link request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    /// Atlas accepted the registration and returned the new link.
    Created(AtlasLinkState),
    /// Atlas already had the id registered (HTTP 409).
    AlreadyLinked,
}

/// The outcome of an unlink request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnlinkOutcome {
    /// Atlas accepted the removal; the link goes through `DELETING`.
    Requested,
    /// Atlas did not know the link (HTTP 404).
    NotLinked,
}

/// The Atlas Admin API operations the linker needs.
pub trait AtlasPort: Send + Sync {
    fn list_endpoint_services(
        &self,
        project: &ProjectId,
    ) -> impl Future<Output = Result<Vec<EndpointService>, AtlasError>> + Send;

    fn link(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> impl Future<Output = Result<LinkOutcome, AtlasError>> + Send;

    /// Reads one link; [`AtlasLinkState::not_linked`] when Atlas returns 404.
    fn get_link(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> impl Future<Output = Result<AtlasLinkState, AtlasError>> + Send;

    fn unlink(
        &self,
        project: &ProjectId,
        service: &EndpointServiceId,
        endpoint: &VpcEndpointId,
    ) -> impl Future<Output = Result<UnlinkOutcome, AtlasError>> + Send;
}
