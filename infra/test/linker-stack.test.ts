import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  allStatements,
  assertPropertiesOf,
  fullSettings,
  linkerTemplate,
  minimalSettings,
  propertiesOf,
  roleStatement,
  roleStatements,
} from './helpers';

const EVENTS_FUNCTION = 'LinkerEventsFunction';
const EVENTS_ROLE = 'LinkerEventsRole';
const RECONCILE_ROLE = 'LinkerReconcileRole';

const EXPECTED_PATTERN = {
  source: ['aws.ec2'],
  'detail-type': ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ec2.amazonaws.com'],
    errorCode: [{ exists: false }],
    $or: [
      {
        eventName: ['CreateVpcEndpoint'],
        requestParameters: {
          CreateVpcEndpointRequest: { ServiceName: [{ prefix: 'com.amazonaws.vpce.' }] },
        },
      },
      { eventName: ['DeleteVpcEndpoints'] },
    ],
  },
};

describe('linker stack function', () => {
  const template = linkerTemplate(minimalSettings());

  test('runs the bootstrap binary on arm64', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      MemorySize: 256,
    });
  });

  test('timeout fits retries and the wait', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, { Timeout: 90 });
  });

  test('has reserved concurrency', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, { ReservedConcurrentExecutions: 2 });
  });

  test('runs with its own role', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, {
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${EVENTS_ROLE}`), 'Arn'] },
    });
  });

  test('logs JSON at the configured level', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, {
      LoggingConfig: {
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'WARN',
        LogGroup: { Ref: Match.stringLikeRegexp('^LinkerEventsLogGroup') },
      },
    });
  });

  test('log group has retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/AtlasPrivateLinkLinker-linker-events',
      RetentionInDays: 30,
    });
  });

  test('minimal environment omits optional variables', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', EVENTS_FUNCTION, {
      Environment: {
        Variables: Match.exact({
          ATLAS_PROJECT_IDS: '0123456789abcdef01234567',
          ATLAS_CREDENTIALS_SECRET: 'atlas-privatelink-linker/atlas',
          DRY_RUN: 'true',
          WAIT_BUDGET_SECONDS: '30',
        }),
      },
    });
  });

  test('full environment sets every variable', () => {
    assertPropertiesOf(linkerTemplate(fullSettings()), 'AWS::Lambda::Function', EVENTS_FUNCTION, {
      Environment: {
        Variables: Match.exact({
          ATLAS_PROJECT_IDS: '0123456789abcdef01234567,76543210fedcba9876543210',
          ATLAS_CREDENTIALS_SECRET: 'atlas-privatelink-linker/atlas',
          MONGODB_ATLAS_BASE_URL: 'https://atlas.example.test',
          DRY_RUN: 'false',
          ALLOWED_ACCOUNT_IDS: '123456789012,210987654321',
          ALLOWED_VPC_IDS: 'vpc-0123456789abcdef0',
          OPT_OUT_TAG: 'atlas-privatelink-linker:opt-out',
          CROSS_ACCOUNT_ROLE_NAME: 'team/atlas-linker-read',
          WAIT_BUDGET_SECONDS: '45',
        }),
      },
      ReservedConcurrentExecutions: 3,
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }),
    });
  });

  test('both functions get CROSS_ACCOUNT_ROLE_NAME', () => {
    const functions = linkerTemplate(fullSettings()).findResources('AWS::Lambda::Function');
    assert.equal(Object.keys(functions).length, 2);
    for (const [id, fn] of Object.entries(functions)) {
      assert.equal(fn.Properties.Environment.Variables.CROSS_ACCOUNT_ROLE_NAME, 'team/atlas-linker-read', id);
    }
  });

  test('async invocations retry twice then go to the queue', () => {
    assertPropertiesOf(template, 'AWS::Lambda::EventInvokeConfig', EVENTS_FUNCTION, {
      FunctionName: { Ref: Match.stringLikeRegexp(`^${EVENTS_FUNCTION}`) },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
      },
    });
  });
});

describe('linker stack rule', () => {
  const template = linkerTemplate(minimalSettings());

  test('matches only the linker events', () => {
    assertPropertiesOf(template, 'AWS::Events::Rule', 'VpcEndpointApiCallRule', { EventPattern: Match.exact(EXPECTED_PATTERN) });
  });

  test('listens on the default bus', () => {
    const rule = propertiesOf(template, 'AWS::Events::Rule', 'VpcEndpointApiCallRule');
    assert.equal(rule.EventBusName, undefined);
  });

  test('targets the function with retries and queue', () => {
    assertPropertiesOf(template, 'AWS::Events::Rule', 'VpcEndpointApiCallRule', {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LinkerEventsFunction'), 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] } },
        },
      ],
    });
  });

  test('may invoke the function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${EVENTS_FUNCTION}`), 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VpcEndpointApiCallRule'), 'Arn'] },
    });
  });
});

describe('linker stack permissions', () => {
  const minimal = linkerTemplate(minimalSettings());
  const full = linkerTemplate(fullSettings());

  test('no allow statement has a wildcard action', () => {
    for (const template of [minimal, full]) {
      for (const statement of allStatements(template).filter((s) => s.Effect === 'Allow')) {
        for (const action of actionsOf(statement)) {
          assert.doesNotMatch(action, /\*/, `statement ${statement.Sid ?? '(no Sid)'} allows ${action}`);
        }
      }
    }
  });

  test('each function has its own role', () => {
    const roles = Object.keys(minimal.findResources('AWS::IAM::Role'));
    assert.equal(roles.length, 2);
    assert.ok(roles.some((id) => id.startsWith(EVENTS_ROLE)), `no ${EVENTS_ROLE} among ${roles.join(', ')}`);
    assert.ok(roles.some((id) => id.startsWith(RECONCILE_ROLE)), `no ${RECONCILE_ROLE} among ${roles.join(', ')}`);
  });

  test('roles use inline policies only', () => {
    for (const role of Object.values(minimal.findResources('AWS::IAM::Role'))) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
    }
    assert.deepEqual(Object.keys(minimal.findResources('AWS::IAM::Policy')), []);
  });

  test('roles trust only Lambda', () => {
    for (const role of Object.values(minimal.findResources('AWS::IAM::Role'))) {
      assert.deepEqual(role.Properties.AssumeRolePolicyDocument.Statement, [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    }
  });

  test('events role statements of minimal settings', () => {
    assert.deepEqual(
      roleStatements(minimal, EVENTS_ROLE).map((statement) => statement.Sid),
      ['WriteFunctionLogs', 'DescribeVpcEndpoints', 'ReadAtlasCredentials', 'TagLinkedEndpoints', 'SendFailedEventsToDeadLetterQueue'],
    );
  });

  test('events role logs only to its log group', () => {
    const statement = roleStatement(minimal, EVENTS_ROLE, 'WriteFunctionLogs');
    assert.deepEqual(statement.Action, ['logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.match(JSON.stringify(statement.Resource), /^\{"Fn::GetAtt":\["LinkerEventsLogGroup[0-9A-F]{8}","Arn"\]\}$/);
  });

  test('roles describe endpoints on every resource', () => {
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      const statement = roleStatement(minimal, role, 'DescribeVpcEndpoints');
      assert.equal(statement.Action, 'ec2:DescribeVpcEndpoints', role);
      assert.equal(statement.Resource, '*', role);
    }
  });

  test('roles read the secret by name', () => {
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      const statement = roleStatement(minimal, role, 'ReadAtlasCredentials');
      assert.equal(statement.Action, 'secretsmanager:GetSecretValue', role);
      assert.match(JSON.stringify(statement.Resource), /:secret:atlas-privatelink-linker\/atlas-\?\?\?\?\?\?"/, role);
    }
  });

  test('roles read the secret by ARN', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:atlas-AbCdEf';
    const template = linkerTemplate(minimalSettings({ atlasCredentialsSecret: arn }));
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      assert.equal(roleStatement(template, role, 'ReadAtlasCredentials').Resource, arn, role);
    }
  });

  test('events role tags only with the linked key', () => {
    const statement = roleStatement(minimal, EVENTS_ROLE, 'TagLinkedEndpoints');
    assert.equal(statement.Action, 'ec2:CreateTags');
    assert.match(JSON.stringify(statement.Resource), /:ec2:\*:123456789012:vpc-endpoint\/\*"/);
    assert.deepEqual(statement.Condition?.['ForAllValues:StringEquals'], {
      'aws:TagKeys': ['atlas-privatelink-linker:linked'],
    });
    assert.deepEqual(statement.Condition?.Null, { 'aws:RequestTag/atlas-privatelink-linker:linked': 'false' });
  });

  test('events role sends only to the dead-letter queue', () => {
    const statement = roleStatement(minimal, EVENTS_ROLE, 'SendFailedEventsToDeadLetterQueue');
    assert.equal(statement.Action, 'sqs:SendMessage');
    assert.match(JSON.stringify(statement.Resource), /DeadLetterQueue/);
  });

  test('no role assumes roles without a role name', () => {
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      for (const statement of roleStatements(minimal, role)) {
        assert.ok(!actionsOf(statement).includes('sts:AssumeRole'), `${role} statement ${statement.Sid} allows sts:AssumeRole`);
      }
    }
  });

  test('roles assume the named role in every account', () => {
    const template = linkerTemplate(minimalSettings({ crossAccountRoleName: 'team/atlas-linker-read' }));
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      const statement = roleStatement(template, role, 'AssumeCrossAccountRole');
      assert.equal(statement.Effect, 'Allow', role);
      assert.equal(statement.Action, 'sts:AssumeRole', role);
      assert.deepEqual(
        statement.Resource,
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::*:role/team/atlas-linker-read']] },
        role,
      );
      assert.equal(statement.Condition, undefined, role);
    }
  });

  test('roles assume the role only in allowed accounts', () => {
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      const statement = roleStatement(full, role, 'AssumeCrossAccountRole');
      assert.deepEqual(statement.Condition, { StringEquals: { 'aws:ResourceAccount': ['123456789012', '210987654321'] } }, role);
    }
  });

  test('roles decrypt only through Secrets Manager', () => {
    for (const role of [EVENTS_ROLE, RECONCILE_ROLE]) {
      assert.throws(() => roleStatement(minimal, role, 'DecryptAtlasCredentials'), /found 0/);
      const statement = roleStatement(full, role, 'DecryptAtlasCredentials');
      assert.equal(statement.Action, 'kms:Decrypt', role);
      assert.equal(statement.Resource, fullSettings().atlasCredentialsKmsKeyArn, role);
      assert.match(JSON.stringify(statement.Condition), /secretsmanager\.us-east-1\./, role);
    }
  });
});

describe('linker stack dead-letter queue', () => {
  const template = linkerTemplate(minimalSettings());

  test('is encrypted and keeps messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
  });

  test('accepts messages only from the rule', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^VpcEndpointApiCallRule'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('denies requests without TLS', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });
});

describe('linker stack event bus grants', () => {
  test('none without forwarder settings', () => {
    linkerTemplate(minimalSettings()).resourceCountIs('AWS::Events::EventBusPolicy', 0);
  });

  test('grant forwarder accounts aws.ec2 events', () => {
    linkerTemplate(fullSettings()).hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: 'default',
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: ['111111111111', '222222222222'] },
        Action: 'events:PutEvents',
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': ['aws.ec2'] },
          StringEquals: { 'events:detail-type': 'AWS API Call via CloudTrail' },
        },
      },
    });
  });

  test('grant the organization aws.ec2 events', () => {
    linkerTemplate(fullSettings()).hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: {
        Principal: '*',
        Action: 'events:PutEvents',
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': ['aws.ec2'] },
          StringEquals: {
            'events:detail-type': 'AWS API Call via CloudTrail',
            'aws:PrincipalOrgID': 'o-abcdefghij',
          },
        },
      },
    });
  });
});

describe('linker stack alarms', () => {
  const template = linkerTemplate(minimalSettings());

  test('four alarms exist', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
  });

  test('events function errors alarm', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${EVENTS_FUNCTION}`) } }],
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('dead-letter queue alarm', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Threshold: 1,
    });
  });

  test('mismatch alarm sums every project', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({
          Expression: 'SELECT SUM(Mismatch) FROM SCHEMA("AtlasPrivateLinkLinker", ProjectId)',
          Period: 300,
          ReturnData: true,
        }),
      ],
      Threshold: 1,
    });
  });

  test('alarms notify the topic when set', () => {
    const alarms = Object.values(linkerTemplate(fullSettings()).findResources('AWS::CloudWatch::Alarm'));
    assert.equal(alarms.length, 4);
    for (const alarm of alarms) {
      assert.deepEqual(alarm.Properties.AlarmActions, [fullSettings().alarmTopicArn]);
      assert.deepEqual(alarm.Properties.OKActions, [fullSettings().alarmTopicArn]);
    }
  });

  test('alarms have no actions by default', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      assert.equal(alarm.Properties.AlarmActions, undefined);
    }
  });
});

describe('linker stack outputs', () => {
  test('name functions, roles, bus and queue', () => {
    const outputs = linkerTemplate(minimalSettings()).toJSON().Outputs;
    for (const name of [
      'LinkerEventsFunctionName',
      'LinkerEventsFunctionArn',
      'LinkerEventsLogGroupName',
      'LinkerEventsRoleArn',
      'LinkerReconcileFunctionName',
      'LinkerReconcileFunctionArn',
      'LinkerReconcileLogGroupName',
      'LinkerReconcileRoleArn',
      'EventBusArn',
      'DeadLetterQueueUrl',
      'DeadLetterQueueArn',
    ]) {
      assert.ok(outputs[name], `output ${name} is missing`);
    }
    assert.match(JSON.stringify(outputs.EventBusArn.Value), /:events:us-east-1:123456789012:event-bus\/default"/);
  });
});
