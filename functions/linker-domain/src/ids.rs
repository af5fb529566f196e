//! Validated identifiers: VPC endpoint ids, AWS account ids, Atlas project ids, endpoint service
//! names and the two spellings of an AWS region. Everything that reaches an Atlas URL path or a
//! role ARN passes through here first.

use std::fmt;

use serde::Serialize;

/// Returns true when `text` is exactly `len` lower-case hexadecimal digits.
fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An interface VPC endpoint id: `vpce-` followed by 17 lower-case hex digits, the only form that
/// Atlas accepts in its paths.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VpcEndpointId(String);

impl VpcEndpointId {
    /// Parses an endpoint id, returning `None` for anything but `vpce-` and 17 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("vpce-")?;
        is_lower_hex(hex, 17).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VpcEndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS account id: exactly 12 decimal digits. Role ARNs are built from it, so nothing else
/// may pass.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    /// Parses an account id, returning `None` unless it is 12 decimal digits.
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Atlas project id (`groupId` in the Admin API): 24 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ProjectId(String);

impl ProjectId {
    /// Parses a project id, returning `None` unless it is 24 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        is_lower_hex(text, 24).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an Atlas endpoint service: 24 lower-case hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EndpointServiceId(String);

impl EndpointServiceId {
    /// Parses an endpoint service id, returning `None` unless it is 24 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        is_lower_hex(text, 24).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a PrivateLink endpoint service of the kind Atlas creates:
/// `com.amazonaws.vpce.<aws-region>.vpce-svc-<17 hex>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EndpointServiceName(String);

impl EndpointServiceName {
    /// Parses a service name, returning `None` for AWS's own services (`com.amazonaws.<region>.s3`)
    /// and anything else that is not a customer endpoint service.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("com.amazonaws.vpce.")?;
        let (region, service) = rest.split_once('.')?;
        AwsRegion::parse(region)?;
        let hex = service.strip_prefix("vpce-svc-")?;
        is_lower_hex(hex, 17).then(|| Self(text.to_owned()))
    }

    /// Returns the AWS region that hosts the endpoint service.
    pub fn region(&self) -> AwsRegion {
        let region = self.0["com.amazonaws.vpce.".len()..]
            .split('.')
            .next()
            .unwrap_or_default();
        AwsRegion(region.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EndpointServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS region name in AWS's spelling, such as `us-east-1` or `us-gov-west-1`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AwsRegion(String);

impl AwsRegion {
    /// Parses an AWS region name: lower-case letters and digits in at least three parts joined by
    /// hyphens, the last part a number (`eu-central-2`, `us-gov-east-1`).
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<&str> = text.split('-').collect();
        let well_formed = parts.len() >= 3
            && text.len() <= 32
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
            && parts
                .last()
                .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()));
        well_formed.then(|| Self(text.to_owned()))
    }

    /// Parses a region in Atlas's spelling (`US_EAST_1`). Returns `None` for Atlas-only names
    /// such as `GLOBAL`, which name no AWS region.
    pub fn from_atlas(text: &str) -> Option<Self> {
        if text.bytes().any(|b| b.is_ascii_lowercase()) {
            return None;
        }
        Self::parse(&text.to_ascii_lowercase().replace('_', "-"))
    }

    /// Returns the region in Atlas's spelling, such as `US_EAST_1`.
    pub fn to_atlas(&self) -> String {
        self.0.to_ascii_uppercase().replace('-', "_")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AwsRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_id_accepts_17_hex() {
        assert!(VpcEndpointId::parse("vpce-0a1b2c3d4e5f60718").is_some());
    }

    #[test]
    fn endpoint_id_rejects_malformed() {
        for text in [
            "",
            "vpce-",
            "vpce-0a1b2c3d",
            "vpce-0A1B2C3D4E5F60718",
            "vpce-0a1b2c3d4e5f607189",
            "vpce-../../groups/x",
            "vpce-0a1b2c3d4e5f6071g",
            "vpc-0a1b2c3d4e5f60718",
            " vpce-0a1b2c3d4e5f60718",
            "vpce-0a1b2c3d4e5f6071\u{0}",
        ] {
            assert_eq!(VpcEndpointId::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn account_id_needs_12_digits() {
        assert!(AccountId::parse("111122223333").is_some());
        for text in [
            "",
            "11112222333",
            "1111222233334",
            "11112222333a",
            "111122223333/../../role",
            "*",
            "１１１１２２２２３３３３",
        ] {
            assert_eq!(AccountId::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn project_id_needs_24_hex() {
        assert!(ProjectId::parse("5f1a2b3c4d5e6f7a8b9c0d1e").is_some());
        assert!(ProjectId::parse("5f1a2b3c4d5e6f7a8b9c0d1").is_none());
        assert!(ProjectId::parse("5F1A2B3C4D5E6F7A8B9C0D1E").is_none());
        assert!(ProjectId::parse("../5f1a2b3c4d5e6f7a8b9c0d").is_none());
    }

    #[test]
    fn service_name_parses_region() {
        let name =
            EndpointServiceName::parse("com.amazonaws.vpce.eu-west-2.vpce-svc-0123456789abcdef0")
                .expect("valid name");
        assert_eq!(name.region().as_str(), "eu-west-2");
    }

    #[test]
    fn service_name_rejects_other_forms() {
        for text in [
            "com.amazonaws.us-east-1.s3",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0123",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789ABCDEF0",
            "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0.evil",
            "com.amazonaws.vpce.US_EAST_1.vpce-svc-0123456789abcdef0",
            "com.amazonaws.vpce..vpce-svc-0123456789abcdef0",
            "aws.sagemaker.us-east-1.notebook",
            "",
        ] {
            assert_eq!(EndpointServiceName::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn region_round_trips_atlas_spelling() {
        for (aws, atlas) in [
            ("us-east-1", "US_EAST_1"),
            ("eu-central-2", "EU_CENTRAL_2"),
            ("us-gov-west-1", "US_GOV_WEST_1"),
            ("ap-southeast-5", "AP_SOUTHEAST_5"),
        ] {
            let region = AwsRegion::parse(aws).expect("valid region");
            assert_eq!(region.to_atlas(), atlas);
            assert_eq!(AwsRegion::from_atlas(atlas), Some(region));
        }
    }

    #[test]
    fn region_rejects_atlas_only_names() {
        assert_eq!(AwsRegion::from_atlas("GLOBAL"), None);
        assert_eq!(AwsRegion::from_atlas("us_east_1"), None);
        assert_eq!(AwsRegion::parse("US-EAST-1"), None);
        assert_eq!(AwsRegion::parse("us-east"), None);
        assert_eq!(AwsRegion::parse("us--1"), None);
    }
}
