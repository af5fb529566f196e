//! In-memory Atlas data: projects, AWS endpoint services, the interface
//! endpoint links of each service, and the time-based link status transitions.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `connectionStatus` of an AWS interface endpoint link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionStatus {
    PendingAcceptance,
    Pending,
    Available,
    Rejected,
    Deleting,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingAcceptance => "PENDING_ACCEPTANCE",
            Self::Pending => "PENDING",
            Self::Available => "AVAILABLE",
            Self::Rejected => "REJECTED",
            Self::Deleting => "DELETING",
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConnectionStatus {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "PENDING_ACCEPTANCE" => Ok(Self::PendingAcceptance),
            "PENDING" => Ok(Self::Pending),
            "AVAILABLE" => Ok(Self::Available),
            "REJECTED" => Ok(Self::Rejected),
            "DELETING" => Ok(Self::Deleting),
            other => Err(format!(
                "invalid connection status {other:?}: expected PENDING_ACCEPTANCE, \
                 PENDING, AVAILABLE, REJECTED or DELETING"
            )),
        }
    }
}

/// Link as the API shows it at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkSnapshot {
    pub interface_endpoint_id: String,
    pub connection_status: ConnectionStatus,
    pub delete_requested: bool,
    pub error_message: Option<String>,
}

impl LinkSnapshot {
    /// Builds the AWS `PrivateLinkEndpoint` body as Atlas returns it.
    pub fn to_api_json(&self) -> Value {
        json!({
            "cloudProvider": "AWS",
            "connectionStatus": self.connection_status,
            "deleteRequested": self.delete_requested,
            "errorMessage": self.error_message,
            "interfaceEndpointId": self.interface_endpoint_id,
        })
    }
}

/// Endpoint service with its links, for state dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSnapshot {
    pub id: String,
    pub region_name: String,
    pub endpoint_service_name: String,
    pub links: Vec<LinkSnapshot>,
}

/// Project with its endpoint services, for state dumps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSnapshot {
    pub project_id: String,
    pub services: Vec<ServiceSnapshot>,
}

/// Delays that drive the link status transitions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub accept_delay: Duration,
    pub delete_delay: Duration,
    /// Whether a due PENDING_ACCEPTANCE link needs an EC2 lookup before it
    /// may become AVAILABLE.
    pub ec2_check: bool,
}

/// Link that is due for acceptance and waits for an EC2 lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingCheck {
    pub project_id: String,
    pub service_id: String,
    pub vpce_id: String,
    pub generation: u64,
    pub region_name: String,
    pub endpoint_service_name: String,
}

/// Result of the acceptance decision for a PENDING_ACCEPTANCE link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Acceptance {
    Accept,
    Reject(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AddServiceError {
    DuplicateId,
    DuplicateRegion { existing_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    ProjectNotFound,
    ServiceNotFound,
    LinkNotFound,
    AlreadyLinked(LinkSnapshot),
}

#[derive(Debug)]
struct Link {
    vpce_id: String,
    status: ConnectionStatus,
    error_message: Option<String>,
    /// Time at which `status` was entered. The accept delay counts from here.
    status_since: Instant,
    delete_requested_at: Option<Instant>,
    /// Unique per created link, so that an EC2 verdict for a link that was
    /// deleted and linked again does not apply to the new link.
    generation: u64,
}

impl Link {
    fn snapshot(&self) -> LinkSnapshot {
        let deleting = self.delete_requested_at.is_some();
        LinkSnapshot {
            interface_endpoint_id: self.vpce_id.clone(),
            connection_status: if deleting {
                ConnectionStatus::Deleting
            } else {
                self.status
            },
            delete_requested: deleting,
            error_message: self.error_message.clone(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct EndpointService {
    pub id: String,
    pub region_name: String,
    pub endpoint_service_name: String,
    links: Vec<Link>,
}

impl EndpointService {
    /// Builds the AWS `EndpointService` body as Atlas returns it. `interfaceEndpoints`
    /// lists every link that has not been removed yet, DELETING ones included.
    pub fn to_api_json(&self) -> Value {
        let endpoints: Vec<&str> = self.links.iter().map(|l| l.vpce_id.as_str()).collect();
        json!({
            "cloudProvider": "AWS",
            "endpointServiceName": self.endpoint_service_name,
            "errorMessage": null,
            "id": self.id,
            "interfaceEndpoints": endpoints,
            "regionName": self.region_name,
            "status": "AVAILABLE",
            "supportedRemoteRegions": [],
        })
    }

    pub fn link_snapshots(&self) -> Vec<LinkSnapshot> {
        self.links.iter().map(Link::snapshot).collect()
    }

    fn snapshot(&self) -> ServiceSnapshot {
        ServiceSnapshot {
            id: self.id.clone(),
            region_name: self.region_name.clone(),
            endpoint_service_name: self.endpoint_service_name.clone(),
            links: self.link_snapshots(),
        }
    }

    fn link_mut(&mut self, vpce_id: &str) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.vpce_id == vpce_id)
    }
}

/// All projects in the simulator, keyed by project id.
#[derive(Debug, Default)]
pub(crate) struct World {
    projects: BTreeMap<String, Vec<EndpointService>>,
    next_generation: u64,
}

impl World {
    pub fn add_project(&mut self, project_id: &str) {
        self.projects.entry(project_id.to_owned()).or_default();
    }

    /// Adds an endpoint service, creating the project if needed. Atlas allows
    /// one AWS endpoint service per project and region.
    pub fn add_service(
        &mut self,
        project_id: &str,
        region_name: &str,
        endpoint_service_name: &str,
        service_id: String,
    ) -> Result<(), AddServiceError> {
        let id_taken = self
            .projects
            .values()
            .flatten()
            .any(|service| service.id == service_id);
        if id_taken {
            return Err(AddServiceError::DuplicateId);
        }
        let services = self.projects.entry(project_id.to_owned()).or_default();
        if let Some(existing) = services.iter().find(|s| s.region_name == region_name) {
            return Err(AddServiceError::DuplicateRegion {
                existing_id: existing.id.clone(),
            });
        }
        services.push(EndpointService {
            id: service_id,
            region_name: region_name.to_owned(),
            endpoint_service_name: endpoint_service_name.to_owned(),
            links: Vec::new(),
        });
        Ok(())
    }

    pub fn services(&self, project_id: &str) -> Option<&[EndpointService]> {
        self.projects.get(project_id).map(Vec::as_slice)
    }

    pub fn service(
        &self,
        project_id: &str,
        service_id: &str,
    ) -> Result<&EndpointService, LinkError> {
        let services = self
            .projects
            .get(project_id)
            .ok_or(LinkError::ProjectNotFound)?;
        services
            .iter()
            .find(|s| s.id == service_id)
            .ok_or(LinkError::ServiceNotFound)
    }

    fn service_mut(
        &mut self,
        project_id: &str,
        service_id: &str,
    ) -> Result<&mut EndpointService, LinkError> {
        let services = self
            .projects
            .get_mut(project_id)
            .ok_or(LinkError::ProjectNotFound)?;
        services
            .iter_mut()
            .find(|s| s.id == service_id)
            .ok_or(LinkError::ServiceNotFound)
    }

    pub fn link(
        &self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
    ) -> Result<LinkSnapshot, LinkError> {
        let service = self.service(project_id, service_id)?;
        service
            .links
            .iter()
            .find(|l| l.vpce_id == vpce_id)
            .map(Link::snapshot)
            .ok_or(LinkError::LinkNotFound)
    }

    /// Creates a PENDING_ACCEPTANCE link. An id that is already linked to
    /// the service, in any status, gives `AlreadyLinked`.
    pub fn create_link(
        &mut self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
        now: Instant,
    ) -> Result<LinkSnapshot, LinkError> {
        let generation = self.take_generation();
        let service = self.service_mut(project_id, service_id)?;
        if let Some(existing) = service.link_mut(vpce_id) {
            return Err(LinkError::AlreadyLinked(existing.snapshot()));
        }
        let link = Link {
            vpce_id: vpce_id.to_owned(),
            status: ConnectionStatus::PendingAcceptance,
            error_message: None,
            status_since: now,
            delete_requested_at: None,
            generation,
        };
        let snapshot = link.snapshot();
        service.links.push(link);
        Ok(snapshot)
    }

    /// Inserts or replaces a link with the given status. DELETING starts the
    /// delete delay, as if a DELETE had arrived at `now`.
    pub fn seed_link(
        &mut self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
        status: ConnectionStatus,
        now: Instant,
    ) -> Result<LinkSnapshot, LinkError> {
        let generation = self.take_generation();
        let service = self.service_mut(project_id, service_id)?;
        service.links.retain(|l| l.vpce_id != vpce_id);
        let link = Link {
            vpce_id: vpce_id.to_owned(),
            status,
            error_message: (status == ConnectionStatus::Rejected)
                .then(|| format!("Interface endpoint {vpce_id} was rejected.")),
            status_since: now,
            delete_requested_at: (status == ConnectionStatus::Deleting).then_some(now),
            generation,
        };
        let snapshot = link.snapshot();
        service.links.push(link);
        Ok(snapshot)
    }

    /// Marks a link for deletion. A link that is already being deleted keeps
    /// its original delete time, so a repeated DELETE succeeds again.
    pub fn request_delete(
        &mut self,
        project_id: &str,
        service_id: &str,
        vpce_id: &str,
        now: Instant,
    ) -> Result<(), LinkError> {
        let service = self.service_mut(project_id, service_id)?;
        let link = service.link_mut(vpce_id).ok_or(LinkError::LinkNotFound)?;
        link.delete_requested_at.get_or_insert(now);
        Ok(())
    }

    /// Applies every transition that is due at `now` and returns the links
    /// that wait for an EC2 lookup before they can be accepted.
    ///
    /// - A link whose delete delay has passed is removed.
    /// - PENDING_ACCEPTANCE becomes AVAILABLE after the accept delay. With
    ///   `timing.ec2_check` set, the link is returned for a lookup instead.
    /// - A seeded PENDING link becomes AVAILABLE after the accept delay.
    pub fn settle(&mut self, now: Instant, timing: Timing) -> Vec<PendingCheck> {
        let mut checks = Vec::new();
        for (project_id, services) in &mut self.projects {
            for service in services.iter_mut() {
                service.links.retain(|link| match link.delete_requested_at {
                    Some(at) => now.saturating_duration_since(at) < timing.delete_delay,
                    None => true,
                });
                for link in &mut service.links {
                    if link.delete_requested_at.is_some() {
                        continue;
                    }
                    let due =
                        now.saturating_duration_since(link.status_since) >= timing.accept_delay;
                    match link.status {
                        ConnectionStatus::PendingAcceptance if due && timing.ec2_check => {
                            checks.push(PendingCheck {
                                project_id: project_id.clone(),
                                service_id: service.id.clone(),
                                vpce_id: link.vpce_id.clone(),
                                generation: link.generation,
                                region_name: service.region_name.clone(),
                                endpoint_service_name: service.endpoint_service_name.clone(),
                            });
                        }
                        ConnectionStatus::PendingAcceptance | ConnectionStatus::Pending if due => {
                            link.status = ConnectionStatus::Available;
                            link.status_since = now;
                        }
                        _ => {}
                    }
                }
            }
        }
        checks
    }

    /// Applies an EC2 verdict if the link it was made for still waits for one.
    /// Returns the new status, or `None` when the verdict no longer applies.
    pub fn apply_acceptance(
        &mut self,
        check: &PendingCheck,
        acceptance: Acceptance,
        now: Instant,
    ) -> Option<ConnectionStatus> {
        let service = self
            .service_mut(&check.project_id, &check.service_id)
            .ok()?;
        let link = service.link_mut(&check.vpce_id)?;
        let waiting = link.generation == check.generation
            && link.delete_requested_at.is_none()
            && link.status == ConnectionStatus::PendingAcceptance;
        if !waiting {
            return None;
        }
        match acceptance {
            Acceptance::Accept => {
                link.status = ConnectionStatus::Available;
                link.error_message = None;
            }
            Acceptance::Reject(message) => {
                link.status = ConnectionStatus::Rejected;
                link.error_message = Some(message);
            }
        }
        link.status_since = now;
        Some(link.status)
    }

    pub fn snapshot(&self) -> Vec<ProjectSnapshot> {
        self.projects
            .iter()
            .map(|(project_id, services)| ProjectSnapshot {
                project_id: project_id.clone(),
                services: services.iter().map(EndpointService::snapshot).collect(),
            })
            .collect()
    }

    fn take_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
    const SERVICE: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    const VPCE: &str = "vpce-0123456789abcdef0";

    fn timing(ec2_check: bool) -> Timing {
        Timing {
            accept_delay: Duration::from_secs(10),
            delete_delay: Duration::from_secs(5),
            ec2_check,
        }
    }

    fn world() -> World {
        let mut world = World::default();
        world
            .add_service(PROJECT, "US_EAST_1", "com.amazonaws.vpce.x", SERVICE.into())
            .unwrap();
        world
    }

    #[test]
    fn link_accepts_after_delay() {
        let mut world = world();
        let start = Instant::now();
        world.create_link(PROJECT, SERVICE, VPCE, start).unwrap();

        world.settle(start + Duration::from_secs(9), timing(false));
        let early = world.link(PROJECT, SERVICE, VPCE).unwrap();
        assert_eq!(early.connection_status, ConnectionStatus::PendingAcceptance);

        world.settle(start + Duration::from_secs(10), timing(false));
        let late = world.link(PROJECT, SERVICE, VPCE).unwrap();
        assert_eq!(late.connection_status, ConnectionStatus::Available);
    }

    #[test]
    fn ec2_check_gates_acceptance() {
        let mut world = world();
        let start = Instant::now();
        world.create_link(PROJECT, SERVICE, VPCE, start).unwrap();

        let checks = world.settle(start + Duration::from_secs(10), timing(true));
        assert_eq!(checks.len(), 1);
        let link = world.link(PROJECT, SERVICE, VPCE).unwrap();
        assert_eq!(link.connection_status, ConnectionStatus::PendingAcceptance);

        let status = world.apply_acceptance(&checks[0], Acceptance::Reject("gone".into()), start);
        assert_eq!(status, Some(ConnectionStatus::Rejected));
        let link = world.link(PROJECT, SERVICE, VPCE).unwrap();
        assert_eq!(link.error_message.as_deref(), Some("gone"));
    }

    #[test]
    fn stale_verdict_is_ignored() {
        let mut world = world();
        let start = Instant::now();
        world.create_link(PROJECT, SERVICE, VPCE, start).unwrap();
        let checks = world.settle(start + Duration::from_secs(10), timing(true));

        world
            .seed_link(
                PROJECT,
                SERVICE,
                VPCE,
                ConnectionStatus::PendingAcceptance,
                start,
            )
            .unwrap();
        let status = world.apply_acceptance(&checks[0], Acceptance::Accept, start);
        assert_eq!(status, None);
    }

    #[test]
    fn delete_removes_after_delay() {
        let mut world = world();
        let start = Instant::now();
        world.create_link(PROJECT, SERVICE, VPCE, start).unwrap();
        world.request_delete(PROJECT, SERVICE, VPCE, start).unwrap();

        world.settle(start + Duration::from_secs(4), timing(false));
        let link = world.link(PROJECT, SERVICE, VPCE).unwrap();
        assert_eq!(link.connection_status, ConnectionStatus::Deleting);
        assert!(link.delete_requested);

        world.settle(start + Duration::from_secs(5), timing(false));
        let gone = world.link(PROJECT, SERVICE, VPCE);
        assert_eq!(gone, Err(LinkError::LinkNotFound));
    }

    #[test]
    fn duplicate_link_conflicts() {
        let mut world = world();
        let start = Instant::now();
        world.create_link(PROJECT, SERVICE, VPCE, start).unwrap();
        let again = world.create_link(PROJECT, SERVICE, VPCE, start);
        assert!(matches!(again, Err(LinkError::AlreadyLinked(_))));
    }

    #[test]
    fn one_service_per_region() {
        let mut world = world();
        let other_id = "cccccccccccccccccccccccc".to_owned();
        let result = world.add_service(PROJECT, "US_EAST_1", "name", other_id);
        assert_eq!(
            result,
            Err(AddServiceError::DuplicateRegion {
                existing_id: SERVICE.into()
            })
        );
    }
}
