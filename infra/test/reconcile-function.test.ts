import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  assertPropertiesOf,
  fullSettings,
  linkerTemplate,
  minimalSettings,
  propertiesOf,
  roleStatement,
  roleStatements,
} from './helpers';

const FUNCTION = 'LinkerReconcileFunction';
const ROLE = 'LinkerReconcileRole';
const SCHEDULE_RULE = 'ReconcileScheduleRule';

describe('reconcile function', () => {
  const template = linkerTemplate(minimalSettings());

  test('runs the bootstrap binary on arm64', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      MemorySize: 256,
    });
  });

  test('has a 300-second timeout', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, { Timeout: 300 });
  });

  test('runs one sweep at a time', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, { ReservedConcurrentExecutions: 1 });
    assertPropertiesOf(linkerTemplate(fullSettings()), 'AWS::Lambda::Function', FUNCTION, { ReservedConcurrentExecutions: 1 });
  });

  test('runs with its own role', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, {
      Role: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${ROLE}`), 'Arn'] },
    });
  });

  test('logs JSON to its own log group', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, {
      LoggingConfig: {
        LogFormat: 'JSON',
        ApplicationLogLevel: 'INFO',
        SystemLogLevel: 'WARN',
        LogGroup: { Ref: Match.stringLikeRegexp('^LinkerReconcileLogGroup') },
      },
    });
    assertPropertiesOf(template, 'AWS::Logs::LogGroup', 'LinkerReconcileLogGroup', {
      LogGroupName: '/aws/lambda/AtlasPrivateLinkLinker-linker-reconcile',
      RetentionInDays: 30,
    });
  });

  test('minimal environment omits optional variables', () => {
    assertPropertiesOf(template, 'AWS::Lambda::Function', FUNCTION, {
      Environment: {
        Variables: Match.exact({
          ATLAS_PROJECT_IDS: '0123456789abcdef01234567',
          ATLAS_CREDENTIALS_SECRET: 'atlas-privatelink-linker/atlas',
          DRY_RUN: 'true',
          WAIT_BUDGET_SECONDS: '30',
          MISMATCH_AGE_LIMIT_MINUTES: '60',
        }),
      },
    });
  });

  test('full environment sets every variable', () => {
    assertPropertiesOf(linkerTemplate(fullSettings()), 'AWS::Lambda::Function', FUNCTION, {
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
          RECONCILE_REGIONS: 'us-west-2,eu-west-1',
          MISMATCH_AGE_LIMIT_MINUTES: '120',
        }),
      },
    });
  });

  test('failed sweeps are neither retried nor kept', () => {
    assertPropertiesOf(template, 'AWS::Lambda::EventInvokeConfig', FUNCTION, {
      FunctionName: { Ref: Match.stringLikeRegexp(`^${FUNCTION}`) },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
    });
    const config = propertiesOf(template, 'AWS::Lambda::EventInvokeConfig', FUNCTION);
    assert.equal(config.DestinationConfig, undefined);
  });
});

describe('reconcile schedule', () => {
  const template = linkerTemplate(minimalSettings());

  test('runs every 15 minutes by default', () => {
    assertPropertiesOf(template, 'AWS::Events::Rule', SCHEDULE_RULE, {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
    });
  });

  test('uses the configured schedule', () => {
    assertPropertiesOf(linkerTemplate(fullSettings()), 'AWS::Events::Rule', SCHEDULE_RULE, {
      ScheduleExpression: 'rate(1 hour)',
    });
  });

  test('has no event pattern', () => {
    assert.equal(propertiesOf(template, 'AWS::Events::Rule', SCHEDULE_RULE).EventPattern, undefined);
  });

  test('targets only the reconcile function', () => {
    assertPropertiesOf(template, 'AWS::Events::Rule', SCHEDULE_RULE, {
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${FUNCTION}`), 'Arn'] },
          Id: Match.anyValue(),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
        },
      ],
    });
  });

  test('may invoke the reconcile function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${FUNCTION}`), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${SCHEDULE_RULE}`), 'Arn'] },
    });
  });
});

describe('reconcile role', () => {
  const minimal = linkerTemplate(minimalSettings());
  const full = linkerTemplate(fullSettings());

  test('statements of minimal settings', () => {
    assert.deepEqual(
      roleStatements(minimal, ROLE).map((statement) => statement.Sid),
      ['WriteFunctionLogs', 'DescribeVpcEndpoints', 'ReadAtlasCredentials', 'TagLinkedAndRepairedEndpoints'],
    );
  });

  test('allows only the sweep actions', () => {
    for (const [name, template, extra] of [
      ['minimal', minimal, []],
      ['full', full, ['kms:Decrypt', 'sts:AssumeRole']],
    ] as const) {
      const actions = roleStatements(template, ROLE).flatMap(actionsOf).sort();
      const expected = [
        'ec2:CreateTags',
        'ec2:DescribeVpcEndpoints',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        ...extra,
      ].sort();
      assert.deepEqual(actions, expected, `${name} settings`);
    }
  });

  test('no allow statement has a wildcard action', () => {
    for (const statement of roleStatements(full, ROLE)) {
      for (const action of actionsOf(statement)) {
        assert.doesNotMatch(action, /\*/, `statement ${statement.Sid} allows ${action}`);
      }
    }
  });

  test('logs only to its log group', () => {
    const statement = roleStatement(minimal, ROLE, 'WriteFunctionLogs');
    assert.deepEqual(statement.Action, ['logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.match(JSON.stringify(statement.Resource), /^\{"Fn::GetAtt":\["LinkerReconcileLogGroup[0-9A-F]{8}","Arn"\]\}$/);
  });

  test('tags only with the linked and repaired keys', () => {
    const statement = roleStatement(minimal, ROLE, 'TagLinkedAndRepairedEndpoints');
    assert.equal(statement.Action, 'ec2:CreateTags');
    assert.match(JSON.stringify(statement.Resource), /:ec2:\*:123456789012:vpc-endpoint\/\*"/);
    assert.deepEqual(statement.Condition?.['ForAllValues:StringEquals'], {
      'aws:TagKeys': ['atlas-privatelink-linker:linked', 'atlas-privatelink-linker:repaired'],
    });
    assert.deepEqual(statement.Condition?.Null, { 'aws:TagKeys': 'false' });
    assert.deepEqual(Object.keys(statement.Condition ?? {}).sort(), ['ForAllValues:StringEquals', 'Null']);
  });

  test('the events role cannot write the repaired tag', () => {
    const statement = roleStatement(minimal, 'LinkerEventsRole', 'TagLinkedEndpoints');
    assert.doesNotMatch(JSON.stringify(statement.Condition), /repaired/);
  });
});

describe('reconcile alarm', () => {
  test('alarms on the function errors', () => {
    linkerTemplate(minimalSettings()).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${FUNCTION}`) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  test('notifies the topic when set', () => {
    linkerTemplate(fullSettings()).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp(`^${FUNCTION}`) } }],
      AlarmActions: [fullSettings().alarmTopicArn],
      OKActions: [fullSettings().alarmTopicArn],
    });
  });
});
