//! The reconcile sweep: compares every Atlas endpoint service of the configured projects with
//! the EC2 endpoints that target it, and heals what events missed.
//!
//! EC2 is searched in the function's own account and, when a cross-account role is configured,
//! in every other account the reconcile function is given. A link whose endpoint none of them
//! lists is never unlinked, because the sweep cannot tell whether this tool manages it.
//!
//! Like a controller's reconcile step, one sweep reads the desired side (EC2 endpoints that
//! target an Atlas service) and the observed side (the links Atlas lists), acts, and reports
//! every pair with its verdict:
//!
//! - an Interface endpoint that is alive in EC2 but not linked is linked, after the same checks
//!   as the event function (policy included);
//! - a link whose endpoint is gone from EC2 is unlinked if this tool manages the endpoint: it
//!   carries the linked tag, or its account is in `ALLOWED_ACCOUNT_IDS`; otherwise it is
//!   reported as unmanaged and left alone;
//! - a link that Atlas reports `REJECTED` or with an `errorMessage` while the endpoint is alive is
//!   repaired once (unlinked, then linked again); the attempt is recorded with a tag on the
//!   endpoint so that later sweeps report it instead of repeating the repair.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{LINKED_TAG, Linker};
use crate::domain::ids::{AccountId, AwsRegion, EndpointServiceName, ProjectId, VpcEndpointId};
use crate::domain::report::{Action, EndpointReport};
use crate::domain::verdict::{AtlasLinkState, AtlasStatus, Ec2State, Verdict};
use crate::error::{Ec2Error, LinkerError};
use crate::ports::{
    AtlasPort, Ec2Endpoint, Ec2Location, Ec2Port, EndpointService, LinkOutcome, UnlinkOutcome,
};

/// The tag that records a repair attempt, with the Unix time of the attempt as its value.
pub const REPAIRED_TAG: &str = "atlas-privatelink-linker:repaired";

/// Settings of one sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Regions searched for endpoints besides each endpoint service's own region, for
    /// cross-region PrivateLink.
    pub extra_regions: Vec<AwsRegion>,
    /// A mismatch older than this is reported as overdue.
    pub mismatch_age_limit: Duration,
    /// The current time in seconds since the Unix epoch, for ages.
    pub now_unix: i64,
    /// After unlinking a failed link, the repair waits until this time for Atlas to finish the
    /// removal before linking again.
    pub wait_until: Instant,
}

/// The result of one sweep.
#[derive(Debug, Default)]
pub struct Sweep {
    /// One report per endpoint.
    pub endpoints: Vec<EndpointReport>,
    /// Accounts other than the function's own whose endpoints could not be listed, with the
    /// first error. The sweep covered the other accounts without them.
    pub unreadable_accounts: Vec<(AccountId, Ec2Error)>,
}

impl<E: Ec2Port, A: AtlasPort> Linker<E, A> {
    /// Runs one sweep over every configured project and returns a report per endpoint.
    pub async fn sweep(&self, options: &SweepOptions) -> Result<Sweep, LinkerError> {
        let mut sweep = Sweep::default();
        for project in &self.projects {
            let services = self.atlas.list_endpoint_services(project).await?;
            info!(project_id = %project, endpoint_services = services.len(), "sweeping Atlas endpoint services");
            for service in &services {
                let Some(name) = service
                    .endpoint_service_name
                    .as_deref()
                    .and_then(EndpointServiceName::parse)
                else {
                    info!(project_id = %project, endpoint_service_id = %service.id, "skipping an endpoint service without a name yet");
                    continue;
                };
                let reports = self
                    .sweep_service(project, service, &name, options, &mut sweep)
                    .await?;
                sweep.endpoints.extend(reports);
            }
        }
        Ok(sweep)
    }

    async fn sweep_service(
        &self,
        project: &ProjectId,
        service: &EndpointService,
        name: &EndpointServiceName,
        options: &SweepOptions,
        sweep: &mut Sweep,
    ) -> Result<Vec<EndpointReport>, LinkerError> {
        let mut regions = vec![name.region()];
        for region in &options.extra_regions {
            if !regions.contains(region) {
                regions.push(region.clone());
            }
        }
        let mut endpoints: Vec<(Ec2Location, Ec2Endpoint)> = Vec::new();
        for account in self.other_accounts.with_own() {
            let unreadable =
                |id: &AccountId| sweep.unreadable_accounts.iter().any(|(a, _)| a == id);
            if account.as_ref().is_some_and(unreadable) {
                continue;
            }
            for region in &regions {
                let at = Ec2Location::new(account.clone(), region.clone());
                match (self.ec2.list_endpoints(&at, name.as_str()).await, &account) {
                    (Ok(found), _) => endpoints.extend(found.into_iter().map(|e| (at.clone(), e))),
                    // One member account whose role is missing must not stop the sweep of the
                    // others. Its links are not unlinked, because their endpoints are not found.
                    (Err(error), Some(id)) => {
                        error!(account_id = %id, error = %error, "listing endpoints in another account failed; the sweep goes on without it");
                        sweep.unreadable_accounts.push((id.clone(), error));
                        break;
                    }
                    (Err(error), None) => return Err(error.into()),
                }
            }
        }

        let mut reports = Vec::new();
        let linked: BTreeSet<&str> = service
            .interface_endpoints
            .iter()
            .map(String::as_str)
            .collect();
        for (at, endpoint) in &endpoints {
            if linked.contains(endpoint.id.as_str()) || !endpoint.state.is_alive() {
                continue;
            }
            let mut report = self.heal_missing(at, endpoint, service, options).await?;
            report.account_id.clone_from(&endpoint.owner_id);
            reports.push(report);
        }
        for raw_id in &linked {
            let Some(id) = VpcEndpointId::parse(raw_id) else {
                warn!(project_id = %project, endpoint_service_id = %service.id, interface_endpoint = raw_id, "Atlas lists an id that is not vpce- and 17 hex digits");
                reports.push(EndpointReport::ignored(
                    raw_id,
                    "Atlas lists an id that is not vpce- and 17 hex digits",
                ));
                continue;
            };
            let found = endpoints.iter().find(|(_, e)| e.id == id.as_str());
            let at = found.map_or_else(|| Ec2Location::own(name.region()), |(at, _)| at.clone());
            let mut report = self
                .check_link(&at, &id, found.map(|(_, e)| e), service, options)
                .await?;
            if found.is_none() && self.other_accounts.unlisted && report.action == Action::Unmanaged
            {
                // The endpoint may belong to an account the sweep does not read. Its absence
                // proves nothing, so the pair gets no verdict rather than a mismatch.
                report.verdict = None;
                report.detail = Some(
                    "EC2 does not list the endpoint in the accounts the sweep reads; list its account in ALLOWED_ACCOUNT_IDS so that the sweep can read it"
                        .to_owned(),
                );
            }
            if found.is_none() && !sweep.unreadable_accounts.is_empty() {
                let accounts: Vec<&str> = sweep
                    .unreadable_accounts
                    .iter()
                    .map(|(a, _)| a.as_str())
                    .collect();
                let note = format!("accounts {} could not be read", accounts.join(", "));
                report.detail = Some(match report.detail {
                    Some(detail) => format!("{detail}; {note}"),
                    None => note,
                });
            }
            reports.push(report);
        }
        Ok(reports)
    }

    /// Links an endpoint that is alive in EC2 but not registered with Atlas.
    async fn heal_missing(
        &self,
        at: &Ec2Location,
        endpoint: &Ec2Endpoint,
        service: &EndpointService,
        options: &SweepOptions,
    ) -> Result<EndpointReport, LinkerError> {
        let Some(id) = VpcEndpointId::parse(&endpoint.id) else {
            return Ok(EndpointReport::ignored(
                &endpoint.id,
                "EC2 lists an id that is not vpce- and 17 hex digits",
            ));
        };
        if !endpoint.endpoint_type.eq_ignore_ascii_case("Interface") {
            return Ok(EndpointReport::ignored(
                id.as_str(),
                format!(
                    "EC2 reports endpoint type {}, not Interface",
                    endpoint.endpoint_type
                ),
            ));
        }
        if let Some(reason) = self.policy.refusal(endpoint) {
            return Ok(EndpointReport::ignored(id.as_str(), reason));
        }

        let (action, atlas_state) = if self.dry_run {
            info!(vpc_endpoint_id = %id, project_id = %service.project_id, endpoint_service_id = %service.id, "dry run: would link an endpoint that no event linked");
            (Action::WouldLink, AtlasLinkState::not_linked())
        } else {
            let state = match self
                .atlas
                .link(&service.project_id, &service.id, &id)
                .await?
            {
                LinkOutcome::Created(state) => state,
                LinkOutcome::AlreadyLinked => {
                    self.atlas
                        .get_link(&service.project_id, &service.id, &id)
                        .await?
                }
            };
            info!(vpc_endpoint_id = %id, project_id = %service.project_id, endpoint_service_id = %service.id, "linked an endpoint that no event linked");
            self.mark_linked(at, &id, service).await;
            (Action::Linked, state)
        };
        Ok(self.pair_report(
            &id,
            action,
            service,
            endpoint,
            &endpoint.state,
            &atlas_state,
            true,
            options,
        ))
    }

    /// Reads one registered link and acts on it when its endpoint is gone or the link failed.
    async fn check_link(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        endpoint: Option<&Ec2Endpoint>,
        service: &EndpointService,
        options: &SweepOptions,
    ) -> Result<EndpointReport, LinkerError> {
        let (project, service_id) = (&service.project_id, &service.id);
        let atlas_state = self.atlas.get_link(project, service_id, id).await?;
        let ec2_state = endpoint.map_or(Ec2State::NotFound, |e| e.state.clone());
        let managed = endpoint.is_some_and(|e| self.manages(e));
        let report = |action: Action, atlas: &AtlasLinkState, detail: Option<String>| {
            let mut report = match endpoint {
                Some(e) => {
                    self.pair_report(id, action, service, e, &ec2_state, atlas, managed, options)
                }
                None => {
                    let mut report = EndpointReport::checked(
                        id,
                        action,
                        Some((project, service_id)),
                        &ec2_state,
                        atlas,
                    );
                    report.managed = Some(managed);
                    report
                }
            };
            report.detail = detail;
            report
        };

        if ec2_state.is_gone() {
            if atlas_state.status == AtlasStatus::NotLinked
                || atlas_state.delete_requested
                || atlas_state.status == AtlasStatus::Deleting
            {
                return Ok(report(Action::Checked, &atlas_state, None));
            }
            if !managed {
                let why = match endpoint {
                    None => {
                        "EC2 no longer lists the endpoint, so the sweep cannot tell whether this tool manages it"
                    }
                    Some(_) => {
                        "the endpoint has no linked tag and its account is not in ALLOWED_ACCOUNT_IDS"
                    }
                };
                info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, ec2_state = ec2_state.as_str(), "left a link alone: its endpoint is gone or not found, and this tool does not manage it");
                return Ok(report(
                    Action::Unmanaged,
                    &atlas_state,
                    Some(why.to_owned()),
                ));
            }
            if self.dry_run {
                info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "dry run: would unlink an orphaned link");
                return Ok(report(Action::WouldUnlink, &atlas_state, None));
            }
            let action = match self.atlas.unlink(project, service_id, id).await? {
                UnlinkOutcome::Requested => Action::Unlinked,
                UnlinkOutcome::NotLinked => Action::AlreadyUnlinked,
            };
            info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, ec2_state = ec2_state.as_str(), "unlinked an orphaned link");
            let after = self.atlas.get_link(project, service_id, id).await?;
            return Ok(report(action, &after, None));
        }

        let failed =
            atlas_state.status == AtlasStatus::Rejected || atlas_state.error_message.is_some();
        if !failed {
            return Ok(report(Action::Checked, &atlas_state, None));
        }
        if !managed {
            return Ok(report(
                Action::Unmanaged,
                &atlas_state,
                Some("the link failed, but this tool does not manage the endpoint".to_owned()),
            ));
        }
        if let Some(at) = endpoint.and_then(|e| e.tag(REPAIRED_TAG)) {
            let detail = format!(
                "the link failed again after a repair at Unix time {at}; it needs an operator"
            );
            return Ok(report(Action::Checked, &atlas_state, Some(detail)));
        }
        if self.dry_run {
            return Ok(report(Action::WouldRepair, &atlas_state, None));
        }
        let repaired = self.repair(at, id, service, options).await?;
        Ok(report(Action::Repaired, &repaired.0, repaired.1))
    }

    /// Unlinks a failed link, waits for Atlas to remove it, and links the endpoint again.
    /// Returns the link state afterwards and a note when the relink has to wait for the next
    /// sweep.
    async fn repair(
        &self,
        at: &Ec2Location,
        id: &VpcEndpointId,
        service: &EndpointService,
        options: &SweepOptions,
    ) -> Result<(AtlasLinkState, Option<String>), LinkerError> {
        let (project, service_id) = (&service.project_id, &service.id);
        // The attempt is recorded first, so that a failure half-way is not repeated either.
        self.ec2
            .tag_endpoint(at, id, REPAIRED_TAG, &options.now_unix.to_string())
            .await?;
        self.atlas.unlink(project, service_id, id).await?;
        info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, "repair: unlinked a failed link");

        let mut delay = Duration::from_millis(500);
        loop {
            let state = self.atlas.get_link(project, service_id, id).await?;
            if state.status == AtlasStatus::NotLinked {
                break;
            }
            if Instant::now() + delay > options.wait_until {
                let note = "repair: unlinked; Atlas is still removing the link, so the next sweep links the endpoint again";
                return Ok((state, Some(note.to_owned())));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        }

        let state = match self.atlas.link(project, service_id, id).await? {
            LinkOutcome::Created(state) => state,
            LinkOutcome::AlreadyLinked => self.atlas.get_link(project, service_id, id).await?,
        };
        info!(vpc_endpoint_id = %id, project_id = %project, endpoint_service_id = %service_id, connection_status = state.status.as_str(), "repair: linked the endpoint again");
        Ok((state, None))
    }

    /// Returns true when this tool may unlink or repair the endpoint's link.
    fn manages(&self, endpoint: &Ec2Endpoint) -> bool {
        let tagged = endpoint.tag(LINKED_TAG).is_some();
        let allowed_account = match (&self.policy.allowed_accounts, &endpoint.owner_id) {
            (Some(accounts), Some(owner)) => accounts.iter().any(|a| a == owner),
            _ => false,
        };
        tagged || allowed_account
    }

    #[allow(clippy::too_many_arguments)]
    fn pair_report(
        &self,
        id: &VpcEndpointId,
        action: Action,
        service: &EndpointService,
        endpoint: &Ec2Endpoint,
        ec2_state: &Ec2State,
        atlas_state: &AtlasLinkState,
        managed: bool,
        options: &SweepOptions,
    ) -> EndpointReport {
        let mut report = EndpointReport::checked(
            id,
            action,
            Some((&service.project_id, &service.id)),
            ec2_state,
            atlas_state,
        );
        report.managed = Some(managed || action == Action::Linked);
        report.account_id.clone_from(&endpoint.owner_id);
        let verdict = report.verdict.unwrap_or(Verdict::Mismatch);
        if verdict != Verdict::InSync
            && let Some(created) = endpoint.created_at
        {
            let age = options.now_unix.saturating_sub(created).max(0) as u64;
            report.age_seconds = Some(age);
            report.overdue =
                verdict == Verdict::Mismatch && age > options.mismatch_age_limit.as_secs();
        }
        report
    }
}
