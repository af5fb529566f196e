//! EC2 and Secrets Manager fixtures created in moto through the AWS SDK.

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::VpcEndpointType;
use serde_json::Value;

use super::{Moto, MotoAccount};
use crate::HarnessError;

/// CIDR block of every VPC the fixtures create. Subnet `i` gets
/// `10.0.i.0/24`, so a VPC contains at most 256 subnets.
const VPC_CIDR: &str = "10.0.0.0/16";
const MAX_SUBNETS: usize = 256;

/// The EC2 fixtures, for moto's default account ([`Moto`]) and for any other account
/// ([`MotoAccount`]).
#[allow(async_fn_in_trait)]
pub trait Ec2Fixtures {
    /// EC2 client for `region` in the fixture's account.
    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client;

    /// Creates a VPC with `subnet_count` subnets spread over the region's
    /// availability zones, and returns the VPC id and the subnet ids.
    async fn create_vpc_with_subnets(
        &self,
        region: &str,
        subnet_count: usize,
    ) -> Result<(String, Vec<String>), HarnessError> {
        if subnet_count > MAX_SUBNETS {
            return Err(HarnessError::Aws {
                operation: "CreateSubnet",
                message: format!(
                    "{subnet_count} subnets requested, but a {VPC_CIDR} VPC of /24 subnets \
                     holds at most {MAX_SUBNETS}"
                ),
            });
        }
        let ec2 = self.ec2(region);

        let zones = ec2
            .describe_availability_zones()
            .send()
            .await
            .map_err(|e| HarnessError::aws("DescribeAvailabilityZones", e))?;
        let zone_names: Vec<String> = zones
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_owned))
            .collect();

        let vpc = ec2
            .create_vpc()
            .cidr_block(VPC_CIDR)
            .send()
            .await
            .map_err(|e| HarnessError::aws("CreateVpc", e))?;
        let vpc_id = vpc
            .vpc()
            .and_then(|v| v.vpc_id())
            .ok_or_else(|| missing_field("CreateVpc", "Vpc.VpcId"))?
            .to_owned();

        let mut subnet_ids = Vec::with_capacity(subnet_count);
        for index in 0..subnet_count {
            let mut request = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.0.{index}.0/24"));
            if !zone_names.is_empty() {
                request = request.availability_zone(&zone_names[index % zone_names.len()]);
            }
            let subnet = request
                .send()
                .await
                .map_err(|e| HarnessError::aws("CreateSubnet", e))?;
            let subnet_id = subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .ok_or_else(|| missing_field("CreateSubnet", "Subnet.SubnetId"))?;
            subnet_ids.push(subnet_id.to_owned());
        }

        Ok((vpc_id, subnet_ids))
    }

    /// Creates an interface endpoint in `vpc_id` and returns its id. moto
    /// accepts any service name and creates the endpoint as `available`.
    async fn create_interface_endpoint(
        &self,
        region: &str,
        vpc_id: &str,
        subnet_ids: &[String],
        service_name: &str,
    ) -> Result<String, HarnessError> {
        let output = self
            .ec2(region)
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .vpc_id(vpc_id)
            .service_name(service_name)
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .send()
            .await
            .map_err(|e| HarnessError::aws("CreateVpcEndpoint", e))?;
        endpoint_id(output.vpc_endpoint())
    }

    /// Creates a route table in `vpc_id` and a gateway endpoint attached to
    /// it, and returns the endpoint id.
    async fn create_gateway_endpoint(
        &self,
        region: &str,
        vpc_id: &str,
        service_name: &str,
    ) -> Result<String, HarnessError> {
        let ec2 = self.ec2(region);
        let route_table = ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .send()
            .await
            .map_err(|e| HarnessError::aws("CreateRouteTable", e))?;
        let route_table_id = route_table
            .route_table()
            .and_then(|t| t.route_table_id())
            .ok_or_else(|| missing_field("CreateRouteTable", "RouteTable.RouteTableId"))?;

        let output = ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .vpc_id(vpc_id)
            .service_name(service_name)
            .route_table_ids(route_table_id)
            .send()
            .await
            .map_err(|e| HarnessError::aws("CreateVpcEndpoint", e))?;
        endpoint_id(output.vpc_endpoint())
    }

    /// Deletes VPC endpoints. Fails if the response lists any of them as
    /// unsuccessful, which moto 5.2.5 never does, even for unknown ids.
    async fn delete_endpoints(
        &self,
        region: &str,
        endpoint_ids: &[String],
    ) -> Result<(), HarnessError> {
        let output = self
            .ec2(region)
            .delete_vpc_endpoints()
            .set_vpc_endpoint_ids(Some(endpoint_ids.to_vec()))
            .send()
            .await
            .map_err(|e| HarnessError::aws("DeleteVpcEndpoints", e))?;

        let failures: Vec<String> = output
            .unsuccessful()
            .iter()
            .map(|item| {
                let id = item.resource_id().unwrap_or("unknown id");
                let message = item
                    .error()
                    .and_then(|e| e.message())
                    .unwrap_or("no message");
                format!("{id}: {message}")
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HarnessError::Aws {
                operation: "DeleteVpcEndpoints",
                message: format!("unsuccessful: {}", failures.join("; ")),
            })
        }
    }

    /// Returns the tag keys of a VPC endpoint.
    async fn tag_keys(&self, region: &str, endpoint_id: &str) -> Result<Vec<String>, HarnessError> {
        let output = self
            .ec2(region)
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id)
            .send()
            .await
            .map_err(|e| HarnessError::aws("DescribeVpcEndpoints", e))?;
        let endpoint = output
            .vpc_endpoints()
            .iter()
            .find(|e| e.vpc_endpoint_id() == Some(endpoint_id))
            .ok_or_else(|| missing_field("DescribeVpcEndpoints", "VpcEndpoints"))?;
        Ok(endpoint
            .tags()
            .iter()
            .filter_map(|t| t.key().map(str::to_owned))
            .collect())
    }

    /// Returns the state of a VPC endpoint as sent on the wire (`available`,
    /// `deleted`, ...), or `None` if moto does not know the id.
    async fn describe_state(
        &self,
        region: &str,
        endpoint_id: &str,
    ) -> Result<Option<String>, HarnessError> {
        let result = self
            .ec2(region)
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(endpoint_id)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(e) if e.code() == Some("InvalidVpcEndpointId.NotFound") => return Ok(None),
            Err(e) => return Err(HarnessError::aws("DescribeVpcEndpoints", e)),
        };

        let endpoint = output
            .vpc_endpoints()
            .iter()
            .find(|e| e.vpc_endpoint_id() == Some(endpoint_id));
        Ok(endpoint
            .and_then(|e| e.state())
            .map(|s| s.as_str().to_owned()))
    }
}

impl Ec2Fixtures for Moto {
    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        self.ec2_client(region)
    }
}

impl Ec2Fixtures for MotoAccount<'_> {
    fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        self.ec2_client(region)
    }
}

impl Moto {
    /// Creates a secret whose value is `value` serialized as JSON, and returns
    /// its ARN.
    pub async fn create_secret(
        &self,
        region: &str,
        name: &str,
        value: &Value,
    ) -> Result<String, HarnessError> {
        let output = self
            .secrets_client(region)
            .create_secret()
            .name(name)
            .secret_string(value.to_string())
            .send()
            .await
            .map_err(|e| HarnessError::aws("CreateSecret", e))?;
        output
            .arn()
            .map(str::to_owned)
            .ok_or_else(|| missing_field("CreateSecret", "ARN"))
    }
}

fn endpoint_id(endpoint: Option<&aws_sdk_ec2::types::VpcEndpoint>) -> Result<String, HarnessError> {
    endpoint
        .and_then(|e| e.vpc_endpoint_id())
        .map(str::to_owned)
        .ok_or_else(|| missing_field("CreateVpcEndpoint", "VpcEndpoint.VpcEndpointId"))
}

fn missing_field(operation: &'static str, field: &str) -> HarnessError {
    HarnessError::Aws {
        operation,
        message: format!("response has no {field}"),
    }
}
