//! The linking logic: turns an [`Intent`] into Atlas link and unlink requests, reads both sides
//! back and reports the verdict for each endpoint.
//!
//! The list of endpoint services is cached for the life of the container. A miss by service name
//! lists again at most once every few seconds, so a burst of creates costs one listing per
//! project. A miss by endpoint id always lists again, so a delete sees links made elsewhere.

use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::Mutex;
use tracing::{error, info, warn};

use crate::domain::event::{CreatedEndpoint, DeletedEndpoints, Intent};
use crate::domain::ids::{
    AccountId, EndpointServiceId, EndpointServiceName, ProjectId, VpcEndpointId,
};
use crate::domain::report::{Action, EndpointReport};
use crate::domain::verdict::{AtlasLinkState, AtlasStatus, Ec2State, Verdict, classify};
use crate::error::LinkerError;
use crate::ports::{
    AtlasPort, Ec2Endpoint, Ec2Location, Ec2Port, EndpointService, LinkOutcome, UnlinkOutcome,
};

/// Links and unlinks endpoints for the configured Atlas projects.
pub struct Linker<E, A> {
    ec2: E,
    atlas: A,
    projects: Vec<ProjectId>,
    dry_run: bool,
    policy: LinkPolicy,
    other_accounts: OtherAccounts,
    services: Mutex<ServiceCache>,
}

/// The accounts the linker reads besides the function's own, through the cross-account role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherAccounts {
    /// The accounts of `ALLOWED_ACCOUNT_IDS` other than the function's own.
    pub listed: Vec<AccountId>,
    /// True when the role may be assumed in accounts that `listed` does not name, because
    /// `ALLOWED_ACCOUNT_IDS` is unset. An endpoint that no listed account has may then exist.
    pub unlisted: bool,
}

impl OtherAccounts {
    /// Returns every account the linker reads: `None` for the function's own, then the listed
    /// ones.
    pub fn with_own(&self) -> impl Iterator<Item = Option<AccountId>> + '_ {
        std::iter::once(None).chain(self.listed.iter().cloned().map(Some))
    }
}

/// The allow-lists that decide which endpoints may be linked. A `None` list allows everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkPolicy {
    /// AWS account ids that own endpoints which may be linked.
    pub allowed_accounts: Option<Vec<String>>,
    /// VPC ids whose endpoints may be linked.
    pub allowed_vpcs: Option<Vec<String>>,
    /// A tag key that, present on an endpoint with any value, keeps it from being linked.
    pub opt_out_tag: Option<String>,
}

impl LinkPolicy {
    /// Returns why an event from `account` may not be acted on, or `None` when it may. This is
    /// checked before EC2 is read, so that no role is assumed in an account outside the list.
    fn account_refusal(&self, account: &AccountId) -> Option<String> {
        let accounts = self.allowed_accounts.as_ref()?;
        (!accounts.iter().any(|a| a == account.as_str()))
            .then(|| format!("account {account} is not in ALLOWED_ACCOUNT_IDS"))
    }

    /// Returns why the endpoint may not be linked, or `None` when it may.
    fn refusal(&self, endpoint: &Ec2Endpoint) -> Option<String> {
        let owner = endpoint.owner_id.as_deref().unwrap_or("unknown");
        if let Some(accounts) = &self.allowed_accounts
            && !accounts.iter().any(|a| a == owner)
        {
            return Some(format!("account {owner} is not in ALLOWED_ACCOUNT_IDS"));
        }
        let vpc = endpoint.vpc_id.as_deref().unwrap_or("unknown");
        if let Some(vpcs) = &self.allowed_vpcs
            && !vpcs.iter().any(|v| v == vpc)
        {
            return Some(format!("VPC {vpc} is not in ALLOWED_VPC_IDS"));
        }
        if let Some(tag) = &self.opt_out_tag
            && endpoint.tags.iter().any(|(key, _)| key == tag)
        {
            return Some(format!("the endpoint carries the opt-out tag {tag}"));
        }
        None
    }
}

/// The cached listing of endpoint services of all configured projects.
#[derive(Default)]
struct ServiceCache {
    services: Vec<EndpointService>,
    listed_at: Option<Instant>,
}

/// A miss within this time of the last listing does not list again, so that a burst of events
/// for services outside the configured projects costs one listing, not one per event.
const MIN_RELIST_INTERVAL: Duration = Duration::from_secs(5);

/// The tag this tool sets on each endpoint it links, with the value `<project id>/<endpoint
/// service id>`.
pub const LINKED_TAG: &str = "atlas-privatelink-linker:linked";

/// The first wait before reading a converging pair again; each later wait doubles.
const FIRST_RECHECK_DELAY: Duration = Duration::from_millis(500);
const MAX_RECHECK_DELAY: Duration = Duration::from_secs(8);

/// The endpoint whose two sides are being compared, and what was done to it.
#[derive(Clone, Copy)]
struct Check<'a> {
    at: &'a Ec2Location,
    id: &'a VpcEndpointId,
    target: Option<(&'a ProjectId, &'a EndpointServiceId)>,
    action: Action,
}

/// The key of an endpoint service lookup.
enum Lookup<'a> {
    ByName(&'a EndpointServiceName),
    ByEndpoint(&'a VpcEndpointId),
}

impl Lookup<'_> {
    fn matches(&self, service: &EndpointService) -> bool {
        match self {
            Self::ByName(name) => service.endpoint_service_name.as_deref() == Some(name.as_str()),
            Self::ByEndpoint(id) => service.interface_endpoints.iter().any(|e| e == id.as_str()),
        }
    }
}

impl<E: Ec2Port, A: AtlasPort> Linker<E, A> {
    pub fn new(
        ec2: E,
        atlas: A,
        projects: Vec<ProjectId>,
        dry_run: bool,
        policy: LinkPolicy,
    ) -> Self {
        Self {
            ec2,
            atlas,
            projects,
            dry_run,
            policy,
            other_accounts: OtherAccounts::default(),
            services: Mutex::new(ServiceCache::default()),
        }
    }

    /// Sets the accounts read besides the function's own: the sweep searches them, and a delete
    /// event checks them before it unlinks an endpoint that its own account does not list.
    pub fn with_other_accounts(mut self, other_accounts: OtherAccounts) -> Self {
        self.other_accounts = other_accounts;
        self
    }

    pub fn other_accounts(&self) -> &OtherAccounts {
        &self.other_accounts
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    pub fn atlas(&self) -> &A {
        &self.atlas
    }

    /// Carries out an intent and reports each endpoint it concerns. While a pair is converging,
    /// both sides are read again with backoff until they are in sync or `wait_until` passes.
    pub async fn apply(
        &self,
        intent: &Intent,
        wait_until: Instant,
    ) -> Result<Vec<EndpointReport>, LinkerError> {
        match intent {
            Intent::Link(created) => Ok(vec![self.link(created, wait_until).await?]),
            Intent::Unlink(deleted) => self.unlink_all(deleted, wait_until).await,
            Intent::Ignore(_) => Ok(Vec::new()),
        }
    }

    async fn link(
        &self,
        created: &CreatedEndpoint,
        wait_until: Instant,
    ) -> Result<EndpointReport, LinkerError> {
        let id = &created.endpoint_id;
        if let Some(reason) = self.policy.account_refusal(&created.account) {
            info!(vpc_endpoint_id = %id, reason = reason.as_str(), "endpoint not linked by policy");
            return Ok(EndpointReport::ignored(id.as_str(), reason));
        }
        let at = Ec2Location::new(Some(created.account.clone()), created.region.clone());
        let Some(found) = self.ec2.describe_endpoint(&at, id).await? else {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "EC2 does not list the endpoint in {at}; it may have been deleted since the call"
                ),
            ));
        };
        if !found.endpoint_type.eq_ignore_ascii_case("Interface") {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "EC2 reports endpoint type {}, not Interface",
                    found.endpoint_type
                ),
            ));
        }
        if found.service_name != created.service_name.as_str() {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "EC2 reports service {} but the event names {}",
                    found.service_name, created.service_name
                ),
            ));
        }
        if !found.state.is_alive() {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "EC2 reports state {}, which cannot be linked",
                    found.state.as_str()
                ),
            ));
        }

        if let Some(reason) = self.policy.refusal(&found) {
            info!(vpc_endpoint_id = %id, reason = reason.as_str(), "endpoint not linked by policy");
            return Ok(EndpointReport::ignored(id.as_str(), reason));
        }

        let Some(service) = self
            .find_service(Lookup::ByName(&created.service_name))
            .await?
        else {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "no endpoint service named {} in Atlas projects {}",
                    created.service_name,
                    self.project_list()
                ),
            ));
        };
        let target = (&service.project_id, &service.id);

        let (action, atlas_state) = self.register(&service, id).await?;
        let linked_now = matches!(action, Action::Linked | Action::AlreadyLinked);
        if linked_now && found.tag(LINKED_TAG).is_none() {
            // An endpoint found already linked is tagged too: a link request that timed out
            // after Atlas accepted it comes back as "already linked", and the sweep must still
            // be able to clean it up once the endpoint is deleted.
            self.mark_linked(&at, id, &service).await;
        }
        // EC2 was read just before the link request; the wait below reads it again if the pair
        // is still converging.
        let ec2_state = found.state.clone();
        let check = Check {
            at: &at,
            id,
            target: Some(target),
            action,
        };
        self.settle(check, ec2_state, atlas_state, wait_until).await
    }

    /// Reads both sides again, with backoff, while they are converging and time is left, then
    /// reports the last reading. A dry run reports the first reading: nothing is moving.
    async fn settle(
        &self,
        check: Check<'_>,
        mut ec2_state: Ec2State,
        mut atlas_state: AtlasLinkState,
        wait_until: Instant,
    ) -> Result<EndpointReport, LinkerError> {
        let started = Instant::now();
        let mut delay = FIRST_RECHECK_DELAY;
        let mut rechecks = 0u32;
        while !self.dry_run
            && classify(&ec2_state, &atlas_state) == Verdict::Converging
            && Instant::now() + delay <= wait_until
        {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RECHECK_DELAY);
            rechecks += 1;
            if let Some((project, service)) = check.target {
                atlas_state = self.atlas.get_link(project, service, check.id).await?;
            }
            ec2_state = self.ec2_state(check.at, check.id).await?;
        }
        if rechecks > 0 {
            info!(vpc_endpoint_id = %check.id, rechecks, waited_ms = started.elapsed().as_millis() as u64, verdict = classify(&ec2_state, &atlas_state).as_str(), "waited for the endpoint to settle");
        }
        Ok(EndpointReport::checked(
            check.id,
            check.action,
            check.target,
            &ec2_state,
            &atlas_state,
        ))
    }

    /// Registers `id` with `service` unless Atlas already lists it, and returns the link state.
    async fn register(
        &self,
        service: &EndpointService,
        id: &VpcEndpointId,
    ) -> Result<(Action, AtlasLinkState), LinkerError> {
        let (project, service_id) = (&service.project_id, &service.id);
        if service.interface_endpoints.iter().any(|e| e == id.as_str()) {
            let state = self.atlas.get_link(project, service_id, id).await?;
            if state.status != AtlasStatus::NotLinked {
                info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "endpoint already linked");
                return Ok((Action::AlreadyLinked, state));
            }
        }
        if self.dry_run {
            let state = self.atlas.get_link(project, service_id, id).await?;
            info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "dry run: would link endpoint");
            return Ok((Action::WouldLink, state));
        }

        let outcome = self.atlas.link(project, service_id, id).await?;
        self.remember_link(service_id.as_str(), id.as_str(), true)
            .await;
        match outcome {
            LinkOutcome::Created(state) => {
                info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "endpoint linked");
                Ok((Action::Linked, state))
            }
            LinkOutcome::AlreadyLinked => {
                info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "Atlas reports the endpoint already linked");
                let state = self.atlas.get_link(project, service_id, id).await?;
                Ok((Action::AlreadyLinked, state))
            }
        }
    }

    async fn unlink_all(
        &self,
        deleted: &DeletedEndpoints,
        wait_until: Instant,
    ) -> Result<Vec<EndpointReport>, LinkerError> {
        let mut reports = Vec::new();
        for (id, code) in &deleted.unsuccessful {
            reports.push(EndpointReport::bare(
                id,
                Action::DeleteFailed,
                Some(format!(
                    "EC2 did not delete the endpoint ({code}), so its link stays"
                )),
            ));
        }
        if let Some(reason) = self.policy.account_refusal(&deleted.account) {
            info!(reason = reason.as_str(), "delete event ignored by policy");
            for id in &deleted.deleted {
                reports.push(EndpointReport::ignored(id.as_str(), reason.clone()));
            }
            return Ok(reports);
        }
        let at = Ec2Location::new(Some(deleted.account.clone()), deleted.region.clone());
        for id in &deleted.deleted {
            reports.push(self.unlink(&at, id, wait_until).await?);
        }
        Ok(reports)
    }

    async fn unlink(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        wait_until: Instant,
    ) -> Result<EndpointReport, LinkerError> {
        // The event alone is not trusted: an endpoint EC2 still reports alive keeps its link.
        let ec2_before = self.ec2_state(at, id).await?;
        if ec2_before.is_alive() {
            let reason = format!(
                "EC2 still reports the endpoint as {}, so its link stays",
                ec2_before.as_str()
            );
            warn!(vpc_endpoint_id = %id, ec2_state = ec2_before.as_str(), "delete event for an endpoint that EC2 still lists as alive");
            return Ok(EndpointReport::ignored(id.as_str(), reason));
        }
        let Some(service) = self.find_service(Lookup::ByEndpoint(id)).await? else {
            info!(vpc_endpoint_id = %id, "no endpoint service of the configured projects lists the endpoint");
            let report = EndpointReport::checked(
                id,
                Action::NotLinked,
                None,
                &ec2_before,
                &AtlasLinkState::not_linked(),
            );
            return Ok(report);
        };
        let (project, service_id) = (&service.project_id, &service.id);
        if ec2_before == Ec2State::NotFound
            && let Some(reason) = self.unconfirmed_delete(at, id, &service).await?
        {
            warn!(vpc_endpoint_id = %id, reason = reason.as_str(), "delete event not confirmed by EC2");
            return Ok(EndpointReport::ignored(id.as_str(), reason));
        }

        let action = if self.dry_run {
            info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "dry run: would unlink endpoint");
            Action::WouldUnlink
        } else {
            let outcome = self.atlas.unlink(project, service_id, id).await?;
            self.remember_link(service_id.as_str(), id.as_str(), false)
                .await;
            match outcome {
                UnlinkOutcome::Requested => {
                    info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "endpoint unlinked");
                    Action::Unlinked
                }
                UnlinkOutcome::NotLinked => {
                    info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "Atlas had already removed the link");
                    Action::AlreadyUnlinked
                }
            }
        };

        // EC2 was read just before; an endpoint that is gone does not come back.
        let atlas_state = self.atlas.get_link(project, service_id, id).await?;
        let check = Check {
            at,
            id,
            target: Some((project, service_id)),
            action,
        };
        let ec2_state = ec2_before;
        self.settle(check, ec2_state, atlas_state, wait_until).await
    }

    /// Tags an endpoint this tool linked, so the reconcile sweep may unlink it later.
    /// A failure is logged and not returned: the link itself succeeded.
    pub(crate) async fn mark_linked(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        service: &EndpointService,
    ) {
        let value = format!("{}/{}", service.project_id, service.id);
        if let Err(error) = self.ec2.tag_endpoint(at, id, LINKED_TAG, &value).await {
            warn!(vpc_endpoint_id = %id, error = %error, "could not tag the linked endpoint; the reconcile sweep will treat it as unmanaged unless its account is allowed");
        }
    }

    /// Returns why a link stays although EC2 does not know the endpoint where the delete event
    /// says it was, or `None` when the deletion is confirmed. The event may name the wrong account or
    /// region, so the endpoint is looked for in the own account and the listed accounts, in the
    /// event's region and the endpoint service's. When the role may reach accounts that no list
    /// names, an endpoint found nowhere may still be alive there, so the link stays too.
    async fn unconfirmed_delete(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        service: &EndpointService,
    ) -> Result<Option<String>, LinkerError> {
        let mut regions = vec![at.region.clone()];
        let service_region = service
            .endpoint_service_name
            .as_deref()
            .and_then(EndpointServiceName::parse)
            .map(|name| name.region());
        regions.extend(service_region.filter(|r| *r != at.region));
        for account in self.other_accounts.with_own() {
            for region in &regions {
                let elsewhere = Ec2Location::new(account.clone(), region.clone());
                if elsewhere == *at {
                    continue;
                }
                let state = self.ec2_state(&elsewhere, id).await?;
                if state.is_alive() {
                    return Ok(Some(format!(
                        "EC2 does not list the endpoint in {at}, but lists it as {} in {elsewhere}, so its link stays",
                        state.as_str()
                    )));
                }
            }
        }
        if self.other_accounts.unlisted {
            return Ok(Some(format!(
                "EC2 does not list the endpoint in {at}, and it may belong to an account the function does not know, so its link stays; list the accounts in ALLOWED_ACCOUNT_IDS, or unlink it by hand"
            )));
        }
        Ok(None)
    }

    async fn ec2_state(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
    ) -> Result<Ec2State, LinkerError> {
        let found = self.ec2.describe_endpoint(at, id).await?;
        Ok(found.map_or(Ec2State::NotFound, |endpoint| endpoint.state))
    }

    /// Finds the endpoint service a lookup is after, refreshing the cached listing on a miss.
    async fn find_service(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<EndpointService>, LinkerError> {
        let mut cache = self.services.lock().await;
        if let Some(found) = cache.services.iter().find(|s| lookup.matches(s)) {
            return Ok(Some(found.clone()));
        }
        // Only lookups by name skip a recent listing: a miss by endpoint id may be a link that
        // another container made since, and missing it would leave the link in Atlas.
        let by_name = matches!(lookup, Lookup::ByName(_));
        if by_name
            && cache
                .listed_at
                .is_some_and(|at| at.elapsed() < MIN_RELIST_INTERVAL)
        {
            return Ok(None);
        }

        let mut services = Vec::new();
        for project in &self.projects {
            match self.atlas.list_endpoint_services(project).await {
                Ok(listed) => {
                    info!(project_id = %project, endpoint_services = listed.len(), "listed Atlas endpoint services");
                    services.extend(listed);
                }
                // A project that does not exist, or that the credentials cannot see, must not
                // stop the other projects from being served.
                Err(error) if error.status == Some(404) => {
                    error!(project_id = %project, error = %error, "skipping an Atlas project that was not found; check ATLAS_PROJECT_IDS");
                }
                Err(error) => return Err(error.into()),
            }
        }
        let found = services.iter().find(|s| lookup.matches(s)).cloned();
        *cache = ServiceCache {
            services,
            listed_at: Some(Instant::now()),
        };
        Ok(found)
    }

    /// Records a link or unlink in the cached listing so later lookups in this container see it.
    async fn remember_link(&self, service_id: &str, endpoint_id: &str, linked: bool) {
        let mut cache = self.services.lock().await;
        let Some(service) = cache
            .services
            .iter_mut()
            .find(|s| s.id.as_str() == service_id)
        else {
            warn!(
                endpoint_service_id = service_id,
                "endpoint service missing from the cached listing"
            );
            return;
        };
        service.interface_endpoints.retain(|e| e != endpoint_id);
        if linked {
            service.interface_endpoints.push(endpoint_id.to_owned());
        }
    }

    fn project_list(&self) -> String {
        self.projects
            .iter()
            .map(ProjectId::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
#[path = "linker_tests.rs"]
mod tests;

#[path = "sweep.rs"]
pub mod sweep;
