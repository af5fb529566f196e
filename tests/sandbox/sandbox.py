"""Helpers for the local demo: create and delete VPC endpoints in moto, write sample events
with the ids moto created, and print the function's results as a side-by-side comparison.

Every call goes to the moto endpoint given with --endpoint (127.0.0.1); credentials are dummies.
"""

import argparse
import json
import sys

import boto3

REGION = "us-east-1"
SAMPLE_VPC = "vpc-0123456789abcdef0"
SAMPLE_ENDPOINT = "vpce-0a1b2c3d4e5f60718"
SAMPLE_ACCOUNT = "111122223333"


def ec2(endpoint, account=None):
    """Return an EC2 client for moto, acting in `account` when given (moto's account header)."""
    client = boto3.client(
        "ec2",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    if account:

        def add_account_header(request, **_):
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.ec2.*", add_account_header)
    return client


def seed(args):
    """Create a VPC, a subnet and an interface endpoint to the Atlas service; print their ids."""
    client = ec2(args.endpoint, args.account)
    vpc = client.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    endpoint = client.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=args.service_name,
        VpcEndpointType="Interface",
        SubnetIds=[subnet],
    )["VpcEndpoint"]["VpcEndpointId"]
    print(json.dumps({"vpcId": vpc, "subnetId": subnet, "vpcEndpointId": endpoint}))


def delete(args):
    ec2(args.endpoint, args.account).delete_vpc_endpoints(VpcEndpointIds=[args.vpc_endpoint_id])


def rewrite(args):
    """Write a sample event with the sample ids replaced by the sandbox's."""
    with open(args.source) as source:
        text = source.read()
    text = text.replace(SAMPLE_VPC, args.vpc_id).replace(SAMPLE_ENDPOINT, args.vpc_endpoint_id)
    if args.account:
        text = text.replace(SAMPLE_ACCOUNT, args.account)
    with open(args.target, "w") as target:
        target.write(text)


def summary(args):
    """Print each endpoint of a function result as one line: action, EC2 side, Atlas side, verdict."""
    result = json.load(sys.stdin)
    if result.get("outcome") == "ignored" and not result.get("endpoints"):
        print(f"  ignored: {result.get('reason')}")
    for endpoint in result.get("endpoints", []):
        print(
            f"  {endpoint['vpcEndpointId']}  action={endpoint['action']}"
            f"  EC2={endpoint.get('ec2State', '-')}"
            f"  Atlas={endpoint.get('atlasStatus', '-')}"
            f"  verdict={endpoint.get('verdict', '-')}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(required=True)

    command = commands.add_parser("seed")
    command.add_argument("--endpoint", required=True)
    command.add_argument("--service-name", required=True)
    command.add_argument("--account", help="moto account to create the endpoint in")
    command.set_defaults(run=seed)

    command = commands.add_parser("delete")
    command.add_argument("--endpoint", required=True)
    command.add_argument("--vpc-endpoint-id", required=True)
    command.add_argument("--account", help="moto account that owns the endpoint")
    command.set_defaults(run=delete)

    command = commands.add_parser("rewrite")
    command.add_argument("--vpc-id", required=True)
    command.add_argument("--vpc-endpoint-id", required=True)
    command.add_argument("--account", help="account that made the call, in place of the sample's")
    command.add_argument("source")
    command.add_argument("target")
    command.set_defaults(run=rewrite)

    command = commands.add_parser("summary")
    command.set_defaults(run=summary)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
