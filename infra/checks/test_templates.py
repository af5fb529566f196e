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
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and isinstance(properties.get("CodeUri"), str):
            # `sam package` replaces the local CodeUri with the uploaded artifact's S3 URI.
            binary = resource.get("Metadata", {}).get("Binary", logical_id)
            properties["CodeUri"] = f"s3://artifact-bucket/{binary}.zip"
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


def function_role_statements(template: dict, function_prefix: str) -> dict[str, dict]:
    """Returns the inline statements of the execution role of the function, by Sid."""
    function = resource_with_prefix(template, "AWS::Lambda::Function", function_prefix)
    role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    statements = []
    for policy in role["Properties"]["Policies"]:
        statements += take_true_branches(policy["PolicyDocument"]["Statement"])
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
            sam = function_role_statements(self.sam, function)
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

    def test_no_role_assumes_roles(self):
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function in FUNCTIONS:
                for sid, statement in function_role_statements(template, function).items():
                    with self.subTest(source=source, function=function, sid=sid):
                        self.assertNotIn("sts:AssumeRole", actions_of(statement))

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
            resource["Type"] for resource in template["Resources"].values() if resource["Type"] != "AWS::CDK::Metadata"
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
            sam = self.function(self.sam, function)["Environment"]["Variables"]
            cdk = self.function(self.cdk, function)["Environment"]["Variables"]
            with self.subTest(function=function):
                self.assertEqual(sorted(sam), sorted(cdk))

    def test_no_cross_account_role_name(self):
        """The functions stop at start when CROSS_ACCOUNT_ROLE_NAME is set, so no template may set it."""
        self.assertNotIn("CrossAccountRoleName", load_yaml_template(SAM_TEMPLATE)["Parameters"])
        for source, template in (("template.yaml", self.sam), (f"CDK {LINKER_STACK}", self.cdk)):
            for function in FUNCTIONS:
                with self.subTest(source=source, function=function):
                    self.assertNotIn("CROSS_ACCOUNT_ROLE_NAME", self.function(template, function)["Environment"]["Variables"])

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


if __name__ == "__main__":
    unittest.main()
