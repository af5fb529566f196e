"""Cross-checks the SAM templates against each other and against the CDK app's synthesized output.

Run from the repository root after `cdk synth` wrote infra/cdk.out with every optional setting
given (the Makefile's infra-check target does both):

    .venv/bin/python -m unittest discover -s infra/checks -v

The event pattern checks use moto's implementation of EventBridge pattern matching, which is a
reimplementation and not EventBridge itself.

CrossAccountTest runs the CDK app again, with crossAccountRoleName and the forwarders' read-role
keys, which the check synthesis leaves unset. It runs the app command of infra/cdk.json in
infra/, so infra/node_modules must be installed.
"""

import copy
import json
import os
import re
import shlex
import subprocess
import tempfile
import unittest
from collections import Counter
from pathlib import Path

from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode
from moto.events.models import EventPattern
from samtranslator.translator.transform import transform

from cfn_resolve import resolve_template, rule_violations

REPOSITORY = Path(__file__).resolve().parents[2]
CDK_APP_DIRECTORY = REPOSITORY / "infra"
SAM_TEMPLATE = REPOSITORY / "template.yaml"
SAM_FORWARDER = REPOSITORY / "infra" / "sam" / "forwarder.yaml"
CDK_OUT = Path(os.environ.get("CDK_OUT", REPOSITORY / "infra" / "cdk.out"))
EVENT_FIXTURES = REPOSITORY / "events"

# Whether the linker rule must match each fixture under events/. A partial delete failure has no
# errorCode (the failures are in the response), so the rule passes it on. The scheduled event is
# what the reconcile schedule delivers, not a CloudTrail record, and the linker rule must ignore it.
FIXTURE_EXPECTATIONS = {
    "create-failed.json": False,
    "create-gateway.json": False,
    "create-interface-one-subnet.json": True,
    "create-interface-several-subnets.json": True,
    "delete-one.json": True,
    "delete-partial-failure.json": True,
    "delete-several.json": True,
    "reconcile-scheduled.json": False,
}

# Fixtures that contain the reconcile schedule's delivery instead of a CloudTrail record.
SCHEDULED_FIXTURES = ("reconcile-scheduled.json",)

LINKER_STACK = "AtlasPrivateLinkLinker"
FORWARDER_PREFIX = "AtlasPrivateLinkForwarder-"
ATLAS_SERVICE_NAME = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"

# Logical id prefixes of the two functions. SAM keeps these ids, and the CDK appends a hash.
EVENTS_FUNCTION = "LinkerEventsFunction"
RECONCILE_FUNCTION = "LinkerReconcileFunction"
FUNCTIONS = (EVENTS_FUNCTION, RECONCILE_FUNCTION)

# Statements whose conditions limit what a role may do, by function.
CONDITIONED_STATEMENTS = {
    EVENTS_FUNCTION: ("TagLinkedEndpoints",),
    RECONCILE_FUNCTION: ("TagLinkedAndRepairedEndpoints",),
}
LINKED_TAG_KEY = "atlas-privatelink-linker:linked"
REPAIRED_TAG_KEY = "atlas-privatelink-linker:repaired"

# Conditions that are false in every template of the check synthesis, because CDK_CHECK_CONTEXT in
# the Makefile sets neither crossAccountRoleName nor the forwarders' read-role keys. The
# comparisons with that synthesis treat them as false, and CrossAccountTest covers them.
UNSET_IN_CHECK_SYNTHESIS = frozenset({"HasCrossAccountRoleName", "CreateLinkerReadRole"})


def load_yaml_template(path: Path) -> dict:
    """Loads a CloudFormation YAML template, short-form tags included, as plain JSON data."""
    template, errors = decode(str(path))
    if errors:
        raise AssertionError(f"{path} could not be parsed: {errors}")
    return json.loads(json.dumps(template))


def load_cdk_template(stack_name: str, cdk_out: Path = CDK_OUT) -> dict:
    path = cdk_out / f"{stack_name}.template.json"
    if not path.exists():
        raise AssertionError(f"{path} not found: run `cdk synth` into {cdk_out} first (make infra-check does).")
    return json.loads(path.read_text())


def synthesize_cdk_app(context: dict[str, str], output: Path) -> Path:
    """Runs the CDK app with context and writes its cloud assembly to output, as `cdk synth` would.

    It runs the app command of infra/cdk.json with the CDK_OUTDIR and CDK_CONTEXT_JSON variables
    that the CDK CLI passes, without the CLI, so no AWS credential lookup takes place. The
    stacks get no account, as in the check synthesis.
    """
    command = json.loads((CDK_APP_DIRECTORY / "cdk.json").read_text())["app"]
    environment = {key: value for key, value in os.environ.items() if key not in ("CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")}
    environment.update(CDK_OUTDIR=str(output), CDK_CONTEXT_JSON=json.dumps(context))
    result = subprocess.run(
        shlex.split(command),
        cwd=CDK_APP_DIRECTORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"`{command}` in {CDK_APP_DIRECTORY} failed with exit code {result.returncode}: {result.stderr}")
    return output


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
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            # `sam package` replaces the local CodeUri with the uploaded artifact's S3 URI.
            binary = resource.get("Metadata", {}).get("Binary", logical_id)
            properties["CodeUri"] = f"s3://artifact-bucket/{binary}.zip"
    return transform(template, {}, NoManagedPolicies())


def take_true_branches(value, false_conditions: frozenset = frozenset()):
    """Resolves every Fn::If to its first branch and drops AWS::NoValue, as if every condition held.

    The conditions in false_conditions take the second branch instead.
    """
    no_value = {"Ref": "AWS::NoValue"}
    if isinstance(value, list):
        resolved = [take_true_branches(item, false_conditions) for item in value]
        return [item for item in resolved if item != no_value]
    if isinstance(value, dict):
        if set(value) == {"Fn::If"}:
            condition, true_branch, false_branch = value["Fn::If"]
            branch = false_branch if condition in false_conditions else true_branch
            return take_true_branches(branch, false_conditions)
        resolved = {key: take_true_branches(item, false_conditions) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != no_value}
    return value


def resources_of_type(template: dict, resource_type: str) -> list[dict]:
    return [resource for resource in template["Resources"].values() if resource["Type"] == resource_type]


def resource_with_prefix(template: dict, resource_type: str, prefix: str) -> dict:
    """Returns the one resource of the type whose logical id starts with prefix."""
    matches = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type and logical_id.startswith(prefix)
    ]
    if len(matches) != 1:
        raise AssertionError(f"expected one {resource_type} whose logical id starts with {prefix}, found {len(matches)}")
    return matches[0]


def event_patterns(template: dict) -> list[dict]:
    """Returns the event patterns of the template's rules. Schedule rules have none and are left out."""
    return [
        rule["Properties"]["EventPattern"]
        for rule in resources_of_type(template, "AWS::Events::Rule")
        if "EventPattern" in rule["Properties"]
    ]


def schedule_rules(template: dict) -> list[dict]:
    return [rule for rule in resources_of_type(template, "AWS::Events::Rule") if "ScheduleExpression" in rule["Properties"]]


def function_target_rule(template: dict, function_prefix: str) -> dict:
    """Returns the one rule with a target whose Arn is the GetAtt of the function."""
    rules = [
        rule
        for rule in resources_of_type(template, "AWS::Events::Rule")
        for target in rule["Properties"].get("Targets", [])
        if target["Arn"].get("Fn::GetAtt", [""])[0].startswith(function_prefix)
    ]
    if len(rules) != 1:
        raise AssertionError(f"expected one rule that targets {function_prefix}, found {len(rules)}")
    return rules[0]


def function_event_invoke_config(template: dict, function_prefix: str) -> dict:
    configs = [
        config["Properties"]
        for config in resources_of_type(template, "AWS::Lambda::EventInvokeConfig")
        if config["Properties"]["FunctionName"]["Ref"].startswith(function_prefix)
    ]
    if len(configs) != 1:
        raise AssertionError(f"expected one EventInvokeConfig of {function_prefix}, found {len(configs)}")
    return configs[0]


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


def function_role_statements(template: dict, function_prefix: str, false_conditions: frozenset = frozenset()) -> dict[str, dict]:
    """Returns the inline statements of the execution role of the function, by Sid."""
    function = resource_with_prefix(template, "AWS::Lambda::Function", function_prefix)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    statements = []
    for policy in role["Properties"]["Policies"]:
        statements += take_true_branches(policy["PolicyDocument"]["Statement"], false_conditions)
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
    (
        "scheduled event of the reconcile sweep",
        {
            "version": "0",
            "id": "e48a0bc9-6f73-42e0-93d4-9f8e7d6c5b40",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2025-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/atlas-privatelink-linker-ReconcileScheduleRule"],
            "detail": {},
        },
        False,
    ),
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

    def test_one_pattern_rule_per_template(self):
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

    def test_scheduled_fixtures_are_schedule_deliveries(self):
        """The scheduled fixtures have the envelope that a rule with ScheduleExpression delivers."""
        for name in SCHEDULED_FIXTURES:
            path = EVENT_FIXTURES / name
            with self.subTest(fixture=name):
                if not path.exists():
                    self.skipTest(f"{path} not found")
                event = json.loads(path.read_text())
                self.assertEqual(event["source"], "aws.events")
                self.assertEqual(event["detail-type"], "Scheduled Event")
                self.assertEqual(event["detail"], {})


class PermissionsTest(unittest.TestCase):
    """Every template grants least privilege, and SAM and CDK grant the same role permissions."""

    @classmethod
    def setUpClass(cls):
        # Translated, so that each function is an AWS::Lambda::Function with its Role, as in the CDK output.
        cls.sam = translate_sam(load_yaml_template(SAM_TEMPLATE))
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
        for function in FUNCTIONS:
            sam = function_role_statements(self.sam, function, UNSET_IN_CHECK_SYNTHESIS)
            cdk = function_role_statements(self.cdk, function)
            with self.subTest(function=function):
                self.assertEqual(sorted(sam), sorted(cdk))
            for sid in sam.keys() & cdk.keys():
                with self.subTest(function=function, sid=sid):
                    self.assertEqual(sorted(actions_of(sam[sid])), sorted(actions_of(cdk[sid])))

    def test_role_conditions_match(self):
        for function, sids in CONDITIONED_STATEMENTS.items():
            sam = function_role_statements(self.sam, function)
            cdk = function_role_statements(self.cdk, function)
            for sid in sids:
                with self.subTest(function=function, sid=sid):
                    self.assertEqual(sam[sid]["Condition"], cdk[sid]["Condition"])

    def test_functions_have_separate_roles(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            roles = [
                resource_with_prefix(template, "AWS::Lambda::Function", function)["Properties"]["Role"]["Fn::GetAtt"][0]
                for function in FUNCTIONS
            ]
            with self.subTest(source=source):
                self.assertEqual(len(set(roles)), len(FUNCTIONS))

    def test_tag_keys_per_function(self):
        expected = {EVENTS_FUNCTION: [LINKED_TAG_KEY], RECONCILE_FUNCTION: [LINKED_TAG_KEY, REPAIRED_TAG_KEY]}
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function, keys in expected.items():
                tag_statements = [
                    statement
                    for statement in function_role_statements(template, function).values()
                    if "ec2:CreateTags" in actions_of(statement)
                ]
                with self.subTest(source=source, function=function):
                    self.assertEqual(len(tag_statements), 1)
                    condition = tag_statements[0]["Condition"]
                    self.assertEqual(sorted(condition["ForAllValues:StringEquals"]["aws:TagKeys"]), sorted(keys))
                    self.assertIn("Null", condition)

    def test_only_events_role_sends_to_queue(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function in FUNCTIONS:
                actions = [action for statement in function_role_statements(template, function).values() for action in actions_of(statement)]
                with self.subTest(source=source, function=function):
                    self.assertEqual("sqs:SendMessage" in actions, function == EVENTS_FUNCTION)

    def test_only_cross_account_statement_assumes_roles(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function in FUNCTIONS:
                for sid, statement in function_role_statements(template, function).items():
                    with self.subTest(source=source, function=function, sid=sid):
                        self.assertEqual("sts:AssumeRole" in actions_of(statement), sid == "AssumeCrossAccountRole")

    def test_only_describe_uses_every_resource(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function in FUNCTIONS:
                for sid, statement in function_role_statements(template, function).items():
                    with self.subTest(source=source, function=function, sid=sid):
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
            resource["Type"]
            for resource in template["Resources"].values()
            if resource["Type"] != "AWS::CDK::Metadata" and resource.get("Condition") not in UNSET_IN_CHECK_SYNTHESIS
        )

    def test_same_resource_types(self):
        self.assertEqual(self.resource_types(self.sam), self.resource_types(self.cdk))

    def test_same_forwarder_resource_types(self):
        sam = self.resource_types(load_yaml_template(SAM_FORWARDER))
        for stack_name in cdk_forwarder_stack_names():
            with self.subTest(stack=stack_name):
                self.assertEqual(self.resource_types(load_cdk_template(stack_name)), sam)

    def function(self, template: dict, prefix: str) -> dict:
        return resource_with_prefix(template, "AWS::Lambda::Function", prefix)["Properties"]

    def test_same_environment_names(self):
        for function in FUNCTIONS:
            sam = take_true_branches(self.function(self.sam, function)["Environment"]["Variables"], UNSET_IN_CHECK_SYNTHESIS)
            cdk = self.function(self.cdk, function)["Environment"]["Variables"]
            with self.subTest(function=function):
                self.assertEqual(sorted(sam), sorted(cdk))

    def test_same_function_settings(self):
        keys = ("Runtime", "Architectures", "Handler", "MemorySize", "Timeout")
        for function in FUNCTIONS:
            sam = self.function(self.sam, function)
            cdk = self.function(self.cdk, function)
            for key in keys:
                with self.subTest(function=function, key=key):
                    self.assertEqual(sam[key], cdk[key])
            with self.subTest(function=function, key="LoggingConfig.LogFormat"):
                self.assertEqual(sam["LoggingConfig"]["LogFormat"], "JSON")
                self.assertEqual(cdk["LoggingConfig"]["LogFormat"], "JSON")

    def test_function_timeouts(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            with self.subTest(source=source):
                self.assertEqual(self.function(template, EVENTS_FUNCTION)["Timeout"], 90)
                self.assertEqual(self.function(template, RECONCILE_FUNCTION)["Timeout"], 300)

    def test_one_sweep_at_a_time(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            with self.subTest(source=source):
                self.assertEqual(self.function(template, RECONCILE_FUNCTION)["ReservedConcurrentExecutions"], 1)

    def test_same_defaults(self):
        """The CDK check synthesis leaves these settings unset, so it shows the CDK defaults."""
        parameters = load_yaml_template(SAM_TEMPLATE)["Parameters"]
        reconcile = self.function(self.cdk, RECONCILE_FUNCTION)["Environment"]["Variables"]
        events = self.function(self.cdk, EVENTS_FUNCTION)["Environment"]["Variables"]
        cases = (
            ("WaitBudgetSeconds", events["WAIT_BUDGET_SECONDS"]),
            ("WaitBudgetSeconds", reconcile["WAIT_BUDGET_SECONDS"]),
            ("MismatchAgeLimitMinutes", reconcile["MISMATCH_AGE_LIMIT_MINUTES"]),
            ("ReconcileSchedule", schedule_rules(self.cdk)[0]["Properties"]["ScheduleExpression"]),
        )
        for parameter, cdk_value in cases:
            with self.subTest(parameter=parameter):
                self.assertEqual(str(parameters[parameter]["Default"]), cdk_value)

    def test_same_async_invoke_config(self):
        keys = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds")
        for function in FUNCTIONS:
            sam = function_event_invoke_config(self.sam, function)
            cdk = function_event_invoke_config(self.cdk, function)
            for key in keys:
                with self.subTest(function=function, key=key):
                    self.assertEqual(sam[key], cdk[key])
        self.assertIn("OnFailure", function_event_invoke_config(self.sam, EVENTS_FUNCTION)["DestinationConfig"])
        self.assertIn("OnFailure", function_event_invoke_config(self.cdk, EVENTS_FUNCTION)["DestinationConfig"])

    def test_reconcile_failures_not_retried_or_kept(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            config = function_event_invoke_config(template, RECONCILE_FUNCTION)
            with self.subTest(source=source):
                self.assertEqual(config["MaximumRetryAttempts"], 0)
                self.assertFalse(config.get("DestinationConfig"))

    def test_same_queue_settings(self):
        sam = resources_of_type(self.sam, "AWS::SQS::Queue")[0]["Properties"]
        cdk = resources_of_type(self.cdk, "AWS::SQS::Queue")[0]["Properties"]
        self.assertEqual(sam, cdk)

    def test_same_rule_target_retry_policy(self):
        for function in FUNCTIONS:
            sam = function_target_rule(self.sam, function)["Properties"]["Targets"][0]
            cdk = function_target_rule(self.cdk, function)["Properties"]["Targets"][0]
            with self.subTest(function=function):
                self.assertEqual(sam["RetryPolicy"], cdk["RetryPolicy"])
                self.assertEqual("DeadLetterConfig" in sam, "DeadLetterConfig" in cdk)

    def test_reconcile_runs_on_schedule(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            rule = function_target_rule(template, RECONCILE_FUNCTION)["Properties"]
            with self.subTest(source=source):
                self.assertIn("ScheduleExpression", rule)
                self.assertNotIn("EventPattern", rule)
                self.assertEqual(len(schedule_rules(template)), 1)

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



# Placeholders of the cross-account synthesis: the linker's account, the outputs of its stack, the
# member role's name and the accounts the linker accepts.
LINKER_ACCOUNT = "123456789012"
EVENTS_ROLE_ARN = f"arn:aws:iam::{LINKER_ACCOUNT}:role/atlas-privatelink-linker-LinkerEventsRole-EXAMPLE"
RECONCILE_ROLE_ARN = f"arn:aws:iam::{LINKER_ACCOUNT}:role/atlas-privatelink-linker-LinkerReconcileRole-EXAMPLE"
READ_ROLE_NAME = "atlas-linker-read"
MAIN_REGION = "us-east-1"
FORWARDER_REGIONS = ("us-east-1", "us-west-2")
ALLOWED_ACCOUNT_IDS = "111111111111,222222222222"
READ_ROLE_LOGICAL_ID = "LinkerReadRole"
ASSUME_ROLE_SID = "AssumeCrossAccountRole"

# Statements of the member account's read role, resolved. IAM requires no particular order.
READ_ROLE_STATEMENTS = [
    {"Sid": "DescribeVpcEndpoints", "Effect": "Allow", "Action": "ec2:DescribeVpcEndpoints", "Resource": "*"},
    {
        "Sid": "TagLinkedAndRepairedEndpoints",
        "Effect": "Allow",
        "Action": "ec2:CreateTags",
        "Resource": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:vpc-endpoint/*",
        "Condition": {
            "ForAllValues:StringEquals": {"aws:TagKeys": [LINKED_TAG_KEY, REPAIRED_TAG_KEY]},
            "Null": {"aws:TagKeys": "false"},
        },
    },
]


class CrossAccountScenario:
    """One run of the CDK app, with the template.yaml and forwarder.yaml parameters of the same settings."""

    def __init__(self, allowed_account_ids: str, read_role_path: str, read_role_region: str):
        """Empty strings leave a setting unset. An empty read_role_region means the main region."""
        self.role_name_with_path = read_role_path.lstrip("/") + READ_ROLE_NAME
        self.allowed_account_ids = allowed_account_ids.split(",") if allowed_account_ids else []
        self.read_role_region = read_role_region or MAIN_REGION
        self.context = {
            "skipBundling": "true",
            "mainRegion": MAIN_REGION,
            "forwarderRegions": ",".join(FORWARDER_REGIONS),
        }
        self.linker_parameters = {}
        self.forwarder_parameters = {}
        settings = (
            (self.linker_parameters, "AtlasProjectIds", "atlasProjectIds", "0123456789abcdef01234567"),
            (self.linker_parameters, "AtlasCredentialsSecret", "atlasCredentialsSecret", "atlas-privatelink-linker/atlas"),
            (self.linker_parameters, "AllowedAccountIds", "allowedAccountIds", allowed_account_ids),
            (self.linker_parameters, "CrossAccountRoleName", "crossAccountRoleName", self.role_name_with_path),
            (self.forwarder_parameters, "TargetRegion", "mainRegion", MAIN_REGION),
            (self.forwarder_parameters, "TargetAccountId", "targetAccountId", LINKER_ACCOUNT),
            (self.forwarder_parameters, "LinkerReadRoleName", "linkerReadRoleName", READ_ROLE_NAME),
            (self.forwarder_parameters, "LinkerReadRolePath", "linkerReadRolePath", read_role_path),
            (self.forwarder_parameters, "LinkerReadRoleRegion", "linkerReadRoleRegion", read_role_region),
            (self.forwarder_parameters, "LinkerEventsRoleArn", "linkerEventsRoleArn", EVENTS_ROLE_ARN),
            (self.forwarder_parameters, "LinkerReconcileRoleArn", "linkerReconcileRoleArn", RECONCILE_ROLE_ARN),
        )
        for parameters, parameter, key, value in settings:
            if value:
                parameters[parameter] = value
                self.context[key] = value


CROSS_ACCOUNT_SCENARIOS = {
    # The grant covers the allowed accounts only, and the main region's forwarder creates a role with a path.
    "allowed accounts, role path": CrossAccountScenario(ALLOWED_ACCOUNT_IDS, "/team/", ""),
    # The grant covers every account, and the chosen region's forwarder creates a role without path.
    "every account, chosen region": CrossAccountScenario("", "", "us-west-2"),
}


def without_cdk_hashes(value):
    """Removes the 8-digit hash that the CDK appends to logical ids in Ref and Fn::GetAtt."""
    if isinstance(value, list):
        return [without_cdk_hashes(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Fn::GetAtt"}:
            logical_id, attribute = value["Fn::GetAtt"]
            return {"Fn::GetAtt": [re.sub(r"[0-9A-F]{8}$", "", logical_id), attribute]}
        if set(value) == {"Ref"}:
            return {"Ref": re.sub(r"[0-9A-F]{8}$", "", value["Ref"])}
        return {key: without_cdk_hashes(item) for key, item in value.items()}
    return value


def trusted_principals(role: dict) -> list[str]:
    """Returns the sorted AWS principals of the role's trust policy."""
    principals = []
    for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        principal = statement["Principal"]["AWS"]
        principals += principal if isinstance(principal, list) else [principal]
    return sorted(principals)


def read_role(template: dict) -> dict | None:
    """Returns the forwarder's read role, or None when the template does not create it."""
    roles = [
        resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith(READ_ROLE_LOGICAL_ID)
    ]
    if len(roles) > 1:
        raise AssertionError(f"expected at most one {READ_ROLE_LOGICAL_ID}, found {len(roles)}")
    return roles[0] if roles else None


class CrossAccountTest(unittest.TestCase):
    """SAM and CDK set CROSS_ACCOUNT_ROLE_NAME, grant sts:AssumeRole and create the read role alike.

    Each scenario runs the CDK app once, and template.yaml and forwarder.yaml are resolved with the
    parameters of the same settings.
    """

    @classmethod
    def setUpClass(cls):
        cls.output = tempfile.TemporaryDirectory(prefix="cross-account-synth-")
        sam_linker = translate_sam(load_yaml_template(SAM_TEMPLATE))
        cls.sam_forwarder = load_yaml_template(SAM_FORWARDER)
        cls.cdk_out = {}
        cls.linkers = {}
        cls.forwarders = {}
        for index, (name, scenario) in enumerate(CROSS_ACCOUNT_SCENARIOS.items()):
            cdk_out = synthesize_cdk_app(scenario.context, Path(cls.output.name) / f"scenario-{index}")
            cls.cdk_out[name] = cdk_out
            cls.linkers[name] = {
                "SAM": resolve_template(sam_linker, scenario.linker_parameters, MAIN_REGION),
                "CDK": resolve_template(load_cdk_template(LINKER_STACK, cdk_out), {}),
            }
            for region in FORWARDER_REGIONS:
                cls.forwarders[name, region] = {
                    "SAM": resolve_template(cls.sam_forwarder, scenario.forwarder_parameters, region),
                    "CDK": resolve_template(load_cdk_template(f"{FORWARDER_PREFIX}{region}", cdk_out), {}),
                }
        # template.yaml with AllowedAccountIds but no CrossAccountRoleName, next to the check
        # synthesis, which sets allowedAccountIds and leaves crossAccountRoleName unset.
        without_role = dict(CROSS_ACCOUNT_SCENARIOS["allowed accounts, role path"].linker_parameters)
        del without_role["CrossAccountRoleName"]
        cls.linkers_without_role = {
            "SAM": resolve_template(sam_linker, without_role, MAIN_REGION),
            "CDK": resolve_template(load_cdk_template(LINKER_STACK), {}),
        }

    @classmethod
    def tearDownClass(cls):
        cls.output.cleanup()

    def read_roles(self):
        """Yields (scenario, source, read role) for the forwarders that must create the role."""
        for name, scenario in CROSS_ACCOUNT_SCENARIOS.items():
            for source, template in self.forwarders[name, scenario.read_role_region].items():
                role = read_role(template)
                with self.subTest(scenario=name, source=source):
                    self.assertIsNotNone(role, f"the {scenario.read_role_region} forwarder creates no {READ_ROLE_LOGICAL_ID}")
                if role is not None:
                    yield name, source, role

    def environment(self, template: dict, function: str) -> dict:
        return resource_with_prefix(template, "AWS::Lambda::Function", function)["Properties"]["Environment"]["Variables"]

    def test_synthesized_templates_pass_cfn_lint(self):
        # W3005 is skipped for the reason given in the Makefile's infra-check target.
        for name, cdk_out in self.cdk_out.items():
            for path in sorted(cdk_out.glob("*.template.json")):
                with self.subTest(scenario=name, template=path.name):
                    matches = lint_file(path, ManualArgs(ignore_checks=["W3005"]))
                    self.assertEqual([str(match) for match in matches], [])

    def test_same_environment(self):
        for name, linker in self.linkers.items():
            for function in FUNCTIONS:
                with self.subTest(scenario=name, function=function):
                    self.assertEqual(self.environment(linker["SAM"], function), self.environment(linker["CDK"], function))

    def test_functions_get_role_name(self):
        for name, linker in self.linkers.items():
            expected = CROSS_ACCOUNT_SCENARIOS[name].role_name_with_path
            for source, template in linker.items():
                for function in FUNCTIONS:
                    with self.subTest(scenario=name, source=source, function=function):
                        self.assertEqual(self.environment(template, function)["CROSS_ACCOUNT_ROLE_NAME"], expected)

    def test_same_role_statements(self):
        for name, linker in self.linkers.items():
            for function in FUNCTIONS:
                sam = without_cdk_hashes(function_role_statements(linker["SAM"], function))
                cdk = without_cdk_hashes(function_role_statements(linker["CDK"], function))
                with self.subTest(scenario=name, function=function):
                    self.assertEqual(sorted(sam), sorted(cdk))
                for sid in sam.keys() & cdk.keys():
                    with self.subTest(scenario=name, function=function, sid=sid):
                        self.assertEqual(sam[sid], cdk[sid])

    def test_grant_names_role_in_every_account(self):
        for name, linker in self.linkers.items():
            role_arn = f"arn:${{AWS::Partition}}:iam::*:role/{CROSS_ACCOUNT_SCENARIOS[name].role_name_with_path}"
            for source, template in linker.items():
                for function in FUNCTIONS:
                    statement = function_role_statements(template, function)[ASSUME_ROLE_SID]
                    with self.subTest(scenario=name, source=source, function=function):
                        self.assertEqual(statement["Effect"], "Allow")
                        self.assertEqual(statement["Action"], "sts:AssumeRole")
                        self.assertEqual(statement["Resource"], role_arn)

    def test_grant_condition_follows_allowed_accounts(self):
        for name, linker in self.linkers.items():
            allowed = CROSS_ACCOUNT_SCENARIOS[name].allowed_account_ids
            expected = {"StringEquals": {"aws:ResourceAccount": allowed}} if allowed else None
            for source, template in linker.items():
                for function in FUNCTIONS:
                    statement = function_role_statements(template, function)[ASSUME_ROLE_SID]
                    with self.subTest(scenario=name, source=source, function=function):
                        self.assertEqual(statement.get("Condition"), expected)

    def test_no_grant_without_role_name(self):
        for source, template in self.linkers_without_role.items():
            for function in FUNCTIONS:
                actions = [action for statement in function_role_statements(template, function).values() for action in actions_of(statement)]
                with self.subTest(source=source, function=function):
                    self.assertNotIn("sts:AssumeRole", actions)
                    self.assertNotIn("CROSS_ACCOUNT_ROLE_NAME", self.environment(template, function))
                    self.assertIn("ALLOWED_ACCOUNT_IDS", self.environment(template, function))

    def test_read_role_in_one_region(self):
        for (name, region), forwarder in self.forwarders.items():
            expected = region == CROSS_ACCOUNT_SCENARIOS[name].read_role_region
            for source, template in forwarder.items():
                with self.subTest(scenario=name, region=region, source=source):
                    self.assertEqual(read_role(template) is not None, expected)
                    self.assertEqual("LinkerReadRoleArn" in template["Outputs"], expected)

    def test_no_read_role_by_default(self):
        sam = resolve_template(self.sam_forwarder, {"TargetRegion": MAIN_REGION, "TargetAccountId": LINKER_ACCOUNT}, MAIN_REGION)
        self.assertIsNone(read_role(sam))
        for stack_name in cdk_forwarder_stack_names():
            with self.subTest(stack=stack_name):
                self.assertIsNone(read_role(load_cdk_template(stack_name)))

    def test_same_read_role(self):
        roles = {(name, source): role["Properties"] for name, source, role in self.read_roles()}
        for name in CROSS_ACCOUNT_SCENARIOS:
            if (name, "SAM") not in roles or (name, "CDK") not in roles:
                continue
            for key in ("RoleName", "Path", "Description", "Policies"):
                with self.subTest(scenario=name, key=key):
                    self.assertEqual(roles[name, "SAM"].get(key), roles[name, "CDK"].get(key))

    def test_read_role_name_and_path(self):
        for name, source, role in self.read_roles():
            path = role["Properties"].get("Path", "/")
            with self.subTest(scenario=name, source=source):
                self.assertEqual(path.lstrip("/") + role["Properties"]["RoleName"], CROSS_ACCOUNT_SCENARIOS[name].role_name_with_path)

    def test_read_role_trusts_only_linker_roles(self):
        for name, source, role in self.read_roles():
            with self.subTest(scenario=name, source=source):
                self.assertEqual(trusted_principals(role), sorted([EVENTS_ROLE_ARN, RECONCILE_ROLE_ARN]))
            for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                with self.subTest(scenario=name, source=source, statement=statement):
                    self.assertEqual(statement["Effect"], "Allow")
                    self.assertEqual(statement["Action"], "sts:AssumeRole")
                    self.assertEqual(set(statement), {"Effect", "Principal", "Action"})

    def test_read_role_permissions(self):
        for name, source, role in self.read_roles():
            statements = [statement for policy in role["Properties"]["Policies"] for statement in policy["PolicyDocument"]["Statement"]]
            with self.subTest(scenario=name, source=source):
                self.assertEqual(sorted(statements, key=lambda statement: statement["Sid"]), READ_ROLE_STATEMENTS)
                self.assertNotIn("ManagedPolicyArns", role["Properties"])

    def test_same_forwarder_resources(self):
        for (name, region), forwarder in self.forwarders.items():
            sam, cdk = forwarder["SAM"], forwarder["CDK"]
            with self.subTest(scenario=name, region=region):
                self.assertEqual(
                    Counter(resource["Type"] for resource in sam["Resources"].values()),
                    Counter(resource["Type"] for resource in cdk["Resources"].values() if resource["Type"] != "AWS::CDK::Metadata"),
                )
                self.assertEqual(sorted(sam["Outputs"]), sorted(cdk["Outputs"]))

    def test_read_role_needs_both_linker_roles(self):
        scenario = CROSS_ACCOUNT_SCENARIOS["allowed accounts, role path"]
        self.assertEqual(rule_violations(self.sam_forwarder, scenario.forwarder_parameters, MAIN_REGION), [])
        for missing in ("LinkerEventsRoleArn", "LinkerReconcileRoleArn"):
            parameters = {key: value for key, value in scenario.forwarder_parameters.items() if key != missing}
            with self.subTest(missing=missing):
                self.assertEqual(rule_violations(self.sam_forwarder, parameters, MAIN_REGION), ["LinkerReadRoleTrustsBothFunctions"])

if __name__ == "__main__":
    unittest.main()
