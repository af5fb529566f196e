//! The verdict table: whether the EC2 side of an endpoint and its Atlas link agree.
//!
//! Both sides move on their own after a link or unlink, so a pair is either in sync (both at
//! the same end), converging (both still moving toward the same end) or a mismatch (they
//! disagree, or Atlas reports an error). The README prints the whole table.

use serde::Serialize;

/// The state EC2 reports for a VPC endpoint, or its absence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ec2State {
    PendingAcceptance,
    Pending,
    Available,
    Deleting,
    Deleted,
    Rejected,
    Failed,
    Expired,
    Partial,
    /// A state this version does not know, kept as EC2 sent it.
    Unknown(String),
    /// EC2 does not list the endpoint.
    NotFound,
}

impl Ec2State {
    /// Reads EC2's state string without regard to case: the service sends `available` while the
    /// Rust SDK's enum expects other casings for some values.
    pub fn parse(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "pendingacceptance" => Self::PendingAcceptance,
            "pending" => Self::Pending,
            "available" => Self::Available,
            "deleting" => Self::Deleting,
            "deleted" => Self::Deleted,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "partial" => Self::Partial,
            _ => Self::Unknown(text.to_owned()),
        }
    }

    /// Returns EC2's spelling, or `notFound` for an endpoint EC2 does not list.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingAcceptance => "pendingAcceptance",
            Self::Pending => "pending",
            Self::Available => "available",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Partial => "partial",
            Self::Unknown(text) => text,
            Self::NotFound => "notFound",
        }
    }

    /// Returns true for states in which the endpoint can still carry traffic once accepted.
    pub fn is_alive(&self) -> bool {
        matches!(
            self,
            Self::PendingAcceptance | Self::Pending | Self::Available | Self::Partial
        )
    }

    /// Returns true for states from which the endpoint never comes back.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::Deleting
                | Self::Deleted
                | Self::Rejected
                | Self::Failed
                | Self::Expired
                | Self::NotFound
        )
    }
}

/// The `connectionStatus` Atlas reports for a link, or its absence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtlasStatus {
    PendingAcceptance,
    Pending,
    Available,
    Rejected,
    Deleting,
    /// Reported by older API versions before a link is processed.
    None,
    /// A status this version does not know, kept as Atlas sent it.
    Unknown(String),
    /// Atlas does not list the link (404).
    NotLinked,
}

impl AtlasStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "PENDING_ACCEPTANCE" => Self::PendingAcceptance,
            "PENDING" => Self::Pending,
            "AVAILABLE" => Self::Available,
            "REJECTED" => Self::Rejected,
            "DELETING" => Self::Deleting,
            "NONE" => Self::None,
            _ => Self::Unknown(text.to_owned()),
        }
    }

    /// Returns Atlas's spelling, or `NOT_LINKED` when Atlas does not list the link.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PendingAcceptance => "PENDING_ACCEPTANCE",
            Self::Pending => "PENDING",
            Self::Available => "AVAILABLE",
            Self::Rejected => "REJECTED",
            Self::Deleting => "DELETING",
            Self::None => "NONE",
            Self::Unknown(text) => text,
            Self::NotLinked => "NOT_LINKED",
        }
    }
}

/// The state Atlas reports for one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtlasLinkState {
    pub status: AtlasStatus,
    pub delete_requested: bool,
    pub error_message: Option<String>,
}

impl AtlasLinkState {
    /// Returns the state of an endpoint that Atlas does not list.
    pub fn not_linked() -> Self {
        Self {
            status: AtlasStatus::NotLinked,
            delete_requested: false,
            error_message: None,
        }
    }
}

/// Whether the two sides of an endpoint agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    InSync,
    Converging,
    Mismatch,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InSync => "inSync",
            Self::Converging => "converging",
            Self::Mismatch => "mismatch",
        }
    }
}

/// Classifies an EC2 state and an Atlas link state. The rows, in order:
///
/// 1. Any Atlas `errorMessage` or `REJECTED` is a mismatch, whatever EC2 reports.
/// 2. An endpoint gone from EC2 and not linked in Atlas is in sync. While Atlas is deleting the
///    link (`DELETING` or `deleteRequested`) the pair is converging, and a live link is a mismatch.
/// 3. A live endpoint (`pendingAcceptance`, `pending`, `available`, `partial`) linked in Atlas is
///    in sync when both report available, converging while either side is still pending, and a
///    mismatch when Atlas is deleting the link or not linked at all.
/// 4. Unknown states on either side are mismatches, so that an operator looks at them.
pub fn classify(ec2: &Ec2State, atlas: &AtlasLinkState) -> Verdict {
    use AtlasStatus as A;

    if atlas
        .error_message
        .as_deref()
        .is_some_and(|m| !m.trim().is_empty())
        || atlas.status == A::Rejected
    {
        return Verdict::Mismatch;
    }
    if matches!(ec2, Ec2State::Unknown(_)) || matches!(atlas.status, A::Unknown(_)) {
        return Verdict::Mismatch;
    }

    let atlas_deleting = atlas.delete_requested || atlas.status == A::Deleting;
    if ec2.is_gone() {
        return match atlas.status {
            A::NotLinked => Verdict::InSync,
            _ if atlas_deleting => Verdict::Converging,
            _ => Verdict::Mismatch,
        };
    }

    if atlas_deleting || atlas.status == A::NotLinked {
        return Verdict::Mismatch;
    }
    let atlas_pending = matches!(atlas.status, A::PendingAcceptance | A::Pending | A::None);
    match ec2 {
        Ec2State::Available if atlas.status == A::Available => Verdict::InSync,
        _ if atlas_pending || atlas.status == A::Available => Verdict::Converging,
        _ => Verdict::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(status: &str) -> AtlasLinkState {
        AtlasLinkState {
            status: AtlasStatus::parse(status),
            delete_requested: false,
            error_message: None,
        }
    }

    fn deleting_link(status: &str) -> AtlasLinkState {
        AtlasLinkState {
            delete_requested: true,
            ..link(status)
        }
    }

    #[test]
    fn verdict_table() {
        use Verdict::*;
        let not_linked = AtlasLinkState::not_linked();
        let cases: Vec<(&str, AtlasLinkState, Verdict)> = vec![
            ("available", link("AVAILABLE"), InSync),
            ("available", link("PENDING_ACCEPTANCE"), Converging),
            ("available", link("PENDING"), Converging),
            ("available", link("NONE"), Converging),
            ("available", link("REJECTED"), Mismatch),
            ("available", link("DELETING"), Mismatch),
            ("available", deleting_link("AVAILABLE"), Mismatch),
            ("available", not_linked.clone(), Mismatch),
            ("pendingAcceptance", link("PENDING_ACCEPTANCE"), Converging),
            ("pendingAcceptance", link("PENDING"), Converging),
            ("pendingAcceptance", link("AVAILABLE"), Converging),
            ("pendingAcceptance", link("REJECTED"), Mismatch),
            ("pendingAcceptance", not_linked.clone(), Mismatch),
            ("pending", link("AVAILABLE"), Converging),
            ("pending", link("PENDING_ACCEPTANCE"), Converging),
            ("partial", link("AVAILABLE"), Converging),
            ("deleting", deleting_link("AVAILABLE"), Converging),
            ("deleting", link("DELETING"), Converging),
            ("deleting", link("AVAILABLE"), Mismatch),
            ("deleting", not_linked.clone(), InSync),
            ("deleted", link("DELETING"), Converging),
            ("deleted", deleting_link("PENDING_ACCEPTANCE"), Converging),
            ("deleted", link("AVAILABLE"), Mismatch),
            ("deleted", link("PENDING_ACCEPTANCE"), Mismatch),
            ("deleted", not_linked.clone(), InSync),
            ("rejected", not_linked.clone(), InSync),
            ("rejected", link("AVAILABLE"), Mismatch),
            ("failed", not_linked.clone(), InSync),
            ("failed", link("PENDING_ACCEPTANCE"), Mismatch),
            ("expired", deleting_link("AVAILABLE"), Converging),
            ("expired", link("REJECTED"), Mismatch),
            ("available", link("SOMETHING_NEW"), Mismatch),
            ("someNewState", link("AVAILABLE"), Mismatch),
        ];
        for (ec2, atlas, expected) in cases {
            let got = classify(&Ec2State::parse(ec2), &atlas);
            assert_eq!(got, expected, "EC2 {ec2} with Atlas {atlas:?}");
        }
    }

    #[test]
    fn verdict_not_found_like_deleted() {
        let verdict = classify(&Ec2State::NotFound, &AtlasLinkState::not_linked());
        assert_eq!(verdict, Verdict::InSync);
        let verdict = classify(&Ec2State::NotFound, &link("AVAILABLE"));
        assert_eq!(verdict, Verdict::Mismatch);
    }

    #[test]
    fn verdict_error_message_is_mismatch() {
        let atlas = AtlasLinkState {
            error_message: Some("Interface endpoint vpce-0a1b2c3d4e5f60718 was not found.".into()),
            ..link("AVAILABLE")
        };
        assert_eq!(classify(&Ec2State::Available, &atlas), Verdict::Mismatch);
    }

    #[test]
    fn verdict_blank_error_message_ignored() {
        let atlas = AtlasLinkState {
            error_message: Some(" ".into()),
            ..link("AVAILABLE")
        };
        assert_eq!(classify(&Ec2State::Available, &atlas), Verdict::InSync);
    }

    #[test]
    fn ec2_state_ignores_case() {
        assert_eq!(Ec2State::parse("available"), Ec2State::Available);
        assert_eq!(Ec2State::parse("Available"), Ec2State::Available);
        assert_eq!(
            Ec2State::parse("PendingAcceptance"),
            Ec2State::PendingAcceptance
        );
        assert_eq!(
            Ec2State::parse("pendingAcceptance"),
            Ec2State::PendingAcceptance
        );
    }
}
