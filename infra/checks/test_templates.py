"""Cross-checks the SAM templates against each other and against the CDK app's synthesized output.

Run from the repository root after `cdk synth` wrote infra/cdk.out with every optional setting
given (the Makefile's infra-check target does both):

    .venv/bin/python -m unittest discover -s infra/checks -v

The event pattern checks use moto's implementation of EventBridge pattern matching, which is a
reimplementation and not EventBridge itself.
"""

import copy
import json
import os
import unittest
from collections import Counter
from pathlib import Path

from cfnlint.decode import decode
from moto.events.models import EventPattern
from samtranslator.translator.transform import transform

REPOSITORY = Path(__file__).resolve().parents[2]
SAM_TEMPLATE = REPOSITORY / "template.yaml"
SAM_FORWARDER = REPOSITORY / "infra" / "sam" / "forwarder.yaml"
CDK_OUT = Path(os.environ.get("CDK_OUT", REPOSITORY / "infra" / "cdk.out"))
EVENT_FIXTURES = REPOSITORY / "events"

# Whether the linker rule must match each CloudTrail fixture under events/. A partial delete
# failure has no errorCode (the failures are in the response), so the rule passes it on.
FIXTURE_EXPECTATIONS = {
    "create-failed.json": False,
    "create-gateway.json": False,
    "create-interface-one-subnet.json": True,
    "create-interface-several-subnets.json": True,
    "delete-one.json": True,
    "delete-partial-failure.json": True,
    "delete-several.json": True,
}

LINKER_STACK = "AtlasPrivateLinkLinker"
FORWARDER_PREFIX = "AtlasPrivateLinkForwarder-"
ATLAS_SERVICE_NAME = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"


def load_yaml_template(path: Path) -> dict:
    """Loads a CloudFormation YAML template, short-form tags included, as plain JSON data."""
    template, errors = decode(str(path))
    if errors:
        raise AssertionError(f"{path} could not be parsed: {errors}")
    return json.loads(json.dumps(template))


def load_cdk_template(stack_name: str) -> dict:
    path = CDK_OUT / f"{stack_name}.template.json"
    if not path.exists():
        raise AssertionError(f"{path} not found: run `cdk synth` into {CDK_OUT} first (make infra-check does).")
    return json.loads(path.read_text())


def cdk_forwarder_stack_names() -> list[str]:
    return sorted(
        path.name.removesuffix(".template.json")
        for path in CDK_OUT.glob(f"{FORWARDER_PREFIX}*.template.json")
    )


class NoManagedPolicies:
    """Managed policy loader for samtranslator that loads nothing, because the templates name no managed policy."""

    def load(self) -> dict:
        return {}


def translate_sam(template: dict) -> dict:
    """Expands the SAM transform offline, as `sam deploy` would after `sam package`."""
    template = copy.deepcopy(template)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            # `sam package` replaces the local CodeUri with the uploaded artifact's S3 URI.
            properties["CodeUri"] = "s3://artifact-bucket/linker-events.zip"
    return transform(template, {}, NoManagedPolicies())


def take_true_branches(value):
    """Resolves every Fn::If to its first branch and drops AWS::NoValue, as if every condition held."""
    if isinstance(value, list):
        resolved = [take_true_branches(item) for item in value]
        return [item for item in resolved if item != {"Ref": "AWS::NoValue"}]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            return take_true_branches(value["Fn::If"][1])
        return {key: take_true_branches(item) for key, item in value.items()}
    return value


def resources_of_type(template: dict, resource_type: str) -> list[dict]:
    return [resource for resource in template["Resources"].values() if resource["Type"] == resource_type]


def event_patterns(template: dict) -> list[dict]:
    return [rule["Properties"]["EventPattern"] for rule in resources_of_type(template, "AWS::Events::Rule")]


def policy_statements(template: dict) -> list[dict]:
    """Collects the statements of roles, policies, queue policies and event bus policies."""
    statements = []
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            statements += properties["AssumeRolePolicyDocument"]["Statement"]
            for policy in properties.get("Policies", []):
                statements += policy["PolicyDocument"]["Statement"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy"):
            statements += properties["PolicyDocument"]["Statement"]
        elif resource["Type"] == "AWS::Events::EventBusPolicy":
            statements.append(properties["Statement"])
    return take_true_branches(statements)


def function_role_statements(template: dict) -> dict[str, dict]:
    """Returns the inline statements of the template's Lambda execution role, by Sid."""
    roles = [
        role
        for role in resources_of_type(template, "AWS::IAM::Role")
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"Service": "lambda.amazonaws.com"}
    ]
    if len(roles) != 1:
        raise AssertionError(f"expected one Lambda execution role, found {len(roles)}")
    statements = take_true_branches(roles[0]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
    return {statement["Sid"]: statement for statement in statements}


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def cloudtrail_event(event_name: str, request_parameters: dict, **overrides) -> dict:
    """Builds an EventBridge event for a CloudTrail-recorded EC2 API call."""
    region = overrides.pop("region", "us-east-1")
    account = overrides.pop("account", "123456789012")
    detail = {
        "eventVersion": "1.09",
        "eventTime": "2025-01-01T00:00:00Z",
        "eventSource": overrides.pop("event_source", "ec2.amazonaws.com"),
        "eventName": event_name,
        "awsRegion": region,
        "requestParameters": request_parameters,
        "responseElements": None,
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    }
    if "error_code" in overrides:
        detail["errorCode"] = overrides.pop("error_code")
        detail["errorMessage"] = "The request failed."
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": overrides.pop("detail_type", "AWS API Call via CloudTrail"),
        "source": overrides.pop("source", "aws.ec2"),
        "account": account,
        "time": "2025-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": detail,
    }
    if overrides:
        raise TypeError(f"unknown overrides: {sorted(overrides)}")
    return event


def create_request(service_name: str, endpoint_type: str = "Interface") -> dict:
    return {
        "CreateVpcEndpointRequest": {
            "VpcId": "vpc-0123456789abcdef0",
            "ServiceName": service_name,
            "VpcEndpointType": endpoint_type,
            "SubnetId": {"tag": 1, "content": "subnet-0123456789abcdef0"},
        }
    }


DELETE_REQUEST = {"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": "vpce-0123456789abcdef0"}}}

# (case, event, whether the linker rule must match it)
PATTERN_CASES = [
    ("create for an endpoint service", cloudtrail_event("CreateVpcEndpoint", create_request(ATLAS_SERVICE_NAME)), True),
    (
        "create forwarded from another region and account",
        cloudtrail_event(
            "CreateVpcEndpoint",
            create_request("com.amazonaws.vpce.eu-west-1.vpce-svc-0fedcba9876543210"),
            region="eu-west-1",
            account="210987654321",
        ),
        True,
    ),
    ("delete", cloudtrail_event("DeleteVpcEndpoints", DELETE_REQUEST), True),
    ("create for an S3 gateway", cloudtrail_event("CreateVpcEndpoint", create_request("com.amazonaws.us-east-1.s3", "Gateway")), False),
    ("create for an AWS service", cloudtrail_event("CreateVpcEndpoint", create_request("com.amazonaws.us-east-1.secretsmanager")), False),
    (
        "failed create",
        cloudtrail_event("CreateVpcEndpoint", create_request(ATLAS_SERVICE_NAME), error_code="Client.UnauthorizedOperation"),
        False,
    ),
    ("failed delete", cloudtrail_event("DeleteVpcEndpoints", DELETE_REQUEST, error_code="Client.InvalidVpcEndpointId.NotFound"), False),
    ("modify", cloudtrail_event("ModifyVpcEndpoint", {"ModifyVpcEndpointRequest": {"VpcEndpointId": "vpce-0123456789abcdef0"}}), False),
    ("other source", cloudtrail_event("CreateVpcEndpoint", create_request(ATLAS_SERVICE_NAME), source="aws.s3"), False),
    (
        "other detail type",
        cloudtrail_event("DeleteVpcEndpoints", DELETE_REQUEST, detail_type="AWS Service Event via CloudTrail"),
        False,
    ),
    ("other event source", cloudtrail_event("DeleteVpcEndpoints", DELETE_REQUEST, event_source="vpce.amazonaws.com"), False),
]


class EventPatternTest(unittest.TestCase):
    """The four copies of the event pattern are equal and select exactly the linker's events."""

    @classmethod
    def setUpClass(cls):
        cls.patterns = {
            "template.yaml": event_patterns(load_yaml_template(SAM_TEMPLATE)),
            "infra/sam/forwarder.yaml": event_patterns(load_yaml_template(SAM_FORWARDER)),
            f"CDK {LINKER_STACK}": event_patterns(load_cdk_template(LINKER_STACK)),
        }
        for stack_name in cdk_forwarder_stack_names():
            cls.patterns[f"CDK {stack_name}"] = event_patterns(load_cdk_template(stack_name))

    def test_cdk_forwarders_synthesized(self):
        self.assertGreater(len(cdk_forwarder_stack_names()), 0, f"no forwarder template in {CDK_OUT}")

    def test_one_rule_per_template(self):
        for source, patterns in self.patterns.items():
            with self.subTest(source=source):
                self.assertEqual(len(patterns), 1)

    def test_copies_are_equal(self):
        reference = self.patterns["template.yaml"][0]
        for source, patterns in self.patterns.items():
            with self.subTest(source=source):
                self.assertEqual(patterns[0], reference)

    def test_pattern_selects_linker_events(self):
        pattern = EventPattern.load(json.dumps(self.patterns["template.yaml"][0]))
        for case, event, expected in PATTERN_CASES:
            with self.subTest(case=case):
                self.assertEqual(pattern.matches_event(event), expected)

    def test_pattern_selects_fixtures(self):
        pattern = EventPattern.load(json.dumps(self.patterns["template.yaml"][0]))
        fixtures = sorted(EVENT_FIXTURES.glob("*.json"))
        self.assertGreater(len(fixtures), 0, f"no fixture in {EVENT_FIXTURES}")
        for fixture in fixtures:
            with self.subTest(fixture=fixture.name):
                if fixture.name not in FIXTURE_EXPECTATIONS:
                    self.skipTest(f"add {fixture.name} to FIXTURE_EXPECTATIONS")
                event = json.loads(fixture.read_text())
                self.assertEqual(pattern.matches_event(event), FIXTURE_EXPECTATIONS[fixture.name])


class PermissionsTest(unittest.TestCase):
    """Every template grants least privilege, and SAM and CDK grant the same role permissions."""

    @classmethod
    def setUpClass(cls):
        cls.sam = load_yaml_template(SAM_TEMPLATE)
        cls.cdk = load_cdk_template(LINKER_STACK)
        cls.templates = {
            "template.yaml": cls.sam,
            "infra/sam/forwarder.yaml": load_yaml_template(SAM_FORWARDER),
            f"CDK {LINKER_STACK}": cls.cdk,
        }
        for stack_name in cdk_forwarder_stack_names():
            cls.templates[f"CDK {stack_name}"] = load_cdk_template(stack_name)

    def test_no_wildcard_allow_action(self):
        for source, template in self.templates.items():
            for statement in policy_statements(template):
                if statement["Effect"] != "Allow":
                    continue
                for action in actions_of(statement):
                    with self.subTest(source=source, sid=statement.get("Sid"), action=action):
                        self.assertNotIn("*", action)

    def test_role_statements_match(self):
        sam = function_role_statements(self.sam)
        cdk = function_role_statements(self.cdk)
        self.assertEqual(sorted(sam), sorted(cdk))
        for sid in sam:
            with self.subTest(sid=sid):
                self.assertEqual(sorted(actions_of(sam[sid])), sorted(actions_of(cdk[sid])))

    def test_role_conditions_match(self):
        sam = function_role_statements(self.sam)
        cdk = function_role_statements(self.cdk)
        for sid in ("TagLinkedEndpoints",):
            with self.subTest(sid=sid):
                self.assertEqual(sam[sid]["Condition"], cdk[sid]["Condition"])

    def test_only_describe_uses_every_resource(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for sid, statement in function_role_statements(template).items():
                with self.subTest(source=source, sid=sid):
                    if sid == "DescribeVpcEndpoints":
                        self.assertEqual(statement["Resource"], "*")
                    else:
                        self.assertNotEqual(statement["Resource"], "*")


class ParityTest(unittest.TestCase):
    """template.yaml, once translated, has the resources and settings of the CDK linker stack."""

    @classmethod
    def setUpClass(cls):
        cls.sam = translate_sam(load_yaml_template(SAM_TEMPLATE))
        cls.cdk = load_cdk_template(LINKER_STACK)

    def resource_types(self, template: dict) -> Counter:
        return Counter(
            resource["Type"] for resource in template["Resources"].values() if resource["Type"] != "AWS::CDK::Metadata"
        )

    def test_same_resource_types(self):
        self.assertEqual(self.resource_types(self.sam), self.resource_types(self.cdk))

    def test_same_forwarder_resource_types(self):
        sam = self.resource_types(load_yaml_template(SAM_FORWARDER))
        for stack_name in cdk_forwarder_stack_names():
            with self.subTest(stack=stack_name):
                self.assertEqual(self.resource_types(load_cdk_template(stack_name)), sam)

    def test_same_environment_names(self):
        sam = resources_of_type(self.sam, "AWS::Lambda::Function")[0]["Properties"]["Environment"]["Variables"]
        cdk = resources_of_type(self.cdk, "AWS::Lambda::Function")[0]["Properties"]["Environment"]["Variables"]
        self.assertEqual(sorted(sam), sorted(cdk))

    def test_same_function_settings(self):
        keys = ("Runtime", "Architectures", "Handler", "MemorySize", "Timeout")
        sam = resources_of_type(self.sam, "AWS::Lambda::Function")[0]["Properties"]
        cdk = resources_of_type(self.cdk, "AWS::Lambda::Function")[0]["Properties"]
        for key in keys:
            with self.subTest(key=key):
                self.assertEqual(sam[key], cdk[key])
        self.assertEqual(sam["LoggingConfig"]["LogFormat"], "JSON")
        self.assertEqual(cdk["LoggingConfig"]["LogFormat"], "JSON")

    def test_same_async_invoke_config(self):
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        sam = resources_of_type(self.sam, "AWS::Lambda::EventInvokeConfig")[0]["Properties"]
        cdk = resources_of_type(self.cdk, "AWS::Lambda::EventInvokeConfig")[0]["Properties"]
        for key in keys:
            with self.subTest(key=key):
                self.assertEqual(sam[key], cdk[key])
        self.assertIn("OnFailure", sam["DestinationConfig"])
        self.assertIn("OnFailure", cdk["DestinationConfig"])

    def test_same_queue_settings(self):
        sam = resources_of_type(self.sam, "AWS::SQS::Queue")[0]["Properties"]
        cdk = resources_of_type(self.cdk, "AWS::SQS::Queue")[0]["Properties"]
        self.assertEqual(sam, cdk)

    def test_same_rule_target_retry_policy(self):
        sam = resources_of_type(self.sam, "AWS::Events::Rule")[0]["Properties"]["Targets"][0]
        cdk = resources_of_type(self.cdk, "AWS::Events::Rule")[0]["Properties"]["Targets"][0]
        self.assertEqual(sam["RetryPolicy"], cdk["RetryPolicy"])

    def test_same_outputs(self):
        self.assertEqual(sorted(self.sam["Outputs"]), sorted(self.cdk["Outputs"]))

    def test_same_alarm_metrics(self):
        def metric_names(template):
            names = []
            for alarm in resources_of_type(template, "AWS::CloudWatch::Alarm"):
                properties = alarm["Properties"]
                names.append(properties.get("MetricName") or properties["Metrics"][0]["Expression"])
            return sorted(names)

        self.assertEqual(metric_names(self.sam), metric_names(self.cdk))


if __name__ == "__main__":
    unittest.main()
