//! Network requests of the function between two points in time, from the recording proxy's log
//! (AWS) and the Atlas simulator's request log.

use std::collections::BTreeMap;

use atlas_sim::{RequestRecord, TOKEN_PATH};

use crate::proxy::AwsCall;
use crate::setup::Setup;

/// Positions in both request logs.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    aws: usize,
    atlas: usize,
}

/// Kinds of Atlas requests the functions send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AtlasKind {
    Token,
    Listing,
    LinkWrite,
    LinkRead,
    Unlink,
    Other,
}

impl AtlasKind {
    pub fn of(record: &RequestRecord) -> AtlasKind {
        let path = record.path.split('?').next().unwrap_or_default();
        match (record.method.as_str(), path) {
            (_, TOKEN_PATH) => AtlasKind::Token,
            ("GET", p) if p.ends_with("/endpointService") => AtlasKind::Listing,
            ("POST", p) if p.ends_with("/endpoint") => AtlasKind::LinkWrite,
            ("GET", p) if p.contains("/endpoint/vpce-") => AtlasKind::LinkRead,
            ("DELETE", p) if p.contains("/endpoint/vpce-") => AtlasKind::Unlink,
            _ => AtlasKind::Other,
        }
    }

    fn label(self) -> &'static str {
        match self {
            AtlasKind::Token => "token",
            AtlasKind::Listing => "endpoint-service listing",
            AtlasKind::LinkWrite => "link write",
            AtlasKind::LinkRead => "link read",
            AtlasKind::Unlink => "unlink",
            AtlasKind::Other => "other",
        }
    }
}

/// The requests sent between two marks.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    pub aws: Vec<AwsCall>,
    pub atlas: Vec<RequestRecord>,
}

impl Traffic {
    pub fn total(&self) -> usize {
        self.aws.len() + self.atlas.len()
    }

    pub fn atlas_count(&self, kind: AtlasKind) -> usize {
        self.atlas
            .iter()
            .filter(|r| AtlasKind::of(r) == kind)
            .count()
    }

    /// Counts the AWS requests by operation, such as `ec2 DescribeVpcEndpoints`.
    pub fn aws_by_action(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for call in &self.aws {
            *counts
                .entry(format!("{} {}", call.service, call.action))
                .or_insert(0) += 1;
        }
        counts
    }

    /// Formats the requests by kind on one line, such as
    /// `AWS 2 (ec2 CreateTags 1, ec2 DescribeVpcEndpoints 1); Atlas 1 (link write 1)`, with the
    /// number of Atlas responses that were 401, such as a Digest challenge.
    pub fn breakdown(&self) -> String {
        let aws: Vec<String> = self
            .aws_by_action()
            .into_iter()
            .map(|(action, count)| format!("{action} {count}"))
            .collect();
        let mut atlas_counts: BTreeMap<AtlasKind, usize> = BTreeMap::new();
        for record in &self.atlas {
            *atlas_counts.entry(AtlasKind::of(record)).or_insert(0) += 1;
        }
        let atlas: Vec<String> = atlas_counts
            .into_iter()
            .map(|(kind, count)| format!("{} {count}", kind.label()))
            .collect();
        let challenged = self.atlas.iter().filter(|r| r.status == 401).count();
        let challenged = match challenged {
            0 => String::new(),
            n => format!("; {n} answered 401"),
        };
        format!(
            "AWS {} ({}); Atlas {} ({}{challenged})",
            self.aws.len(),
            aws.join(", "),
            self.atlas.len(),
            atlas.join(", ")
        )
    }
}

impl Setup {
    pub fn mark(&self) -> Mark {
        Mark {
            aws: self.proxy.mark(),
            atlas: self.sandbox.sim.requests().len(),
        }
    }

    /// Returns the function's requests since `mark`.
    pub fn traffic_since(&self, mark: Mark) -> Traffic {
        let atlas = self.sandbox.sim.requests();
        Traffic {
            aws: self.proxy.calls_since(mark.aws),
            atlas: atlas.get(mark.atlas..).unwrap_or_default().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atlas_sim::AuthKind;

    fn record(method: &str, path: &str) -> RequestRecord {
        RequestRecord {
            method: method.to_owned(),
            path: path.to_owned(),
            status: 200,
            auth: AuthKind::Bearer,
            at_unix_ms: 0,
            fault: None,
        }
    }

    #[test]
    fn atlas_kinds() {
        let services =
            "/api/atlas/v2/groups/5f1a2b3c4d5e6f7a8b9c0d1e/privateEndpoint/AWS/endpointService";
        let links = format!("{services}/64b0c0ffee0123456789abcd/endpoint");
        let link = format!("{links}/vpce-0a1b2c3d4e5f60718");
        let cases = [
            (record("POST", TOKEN_PATH), AtlasKind::Token),
            (record("GET", services), AtlasKind::Listing),
            (
                record("GET", &format!("{services}?pageNum=1")),
                AtlasKind::Listing,
            ),
            (record("POST", &links), AtlasKind::LinkWrite),
            (record("GET", &link), AtlasKind::LinkRead),
            (record("DELETE", &link), AtlasKind::Unlink),
            (
                record("GET", &format!("{services}/64b0c0ffee0123456789abcd")),
                AtlasKind::Other,
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(AtlasKind::of(&request), expected, "{}", request.path);
        }
    }
}
