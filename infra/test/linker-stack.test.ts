import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  allStatements,
  fullSettings,
  linkerTemplate,
  minimalSettings,
  roleStatement,
} from './helpers';

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
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'provided.al2023',
      Architectures: ['arm64'],
      Handler: 'bootstrap',
      MemorySize: 256,
      Timeout: 60,
    });
  });

  test('has reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 2 });
  });

  test('logs JSON at the configured level', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
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
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.exact({
          ATLAS_PROJECT_IDS: '0123456789abcdef01234567',
          ATLAS_CREDENTIALS_SECRET: 'atlas-privatelink-linker/atlas',
          DRY_RUN: 'true',
        }),
      },
    });
  });

  test('full environment sets every variable', () => {
    linkerTemplate(fullSettings()).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.exact({
          ATLAS_PROJECT_IDS: '0123456789abcdef01234567,76543210fedcba9876543210',
          ATLAS_CREDENTIALS_SECRET: 'atlas-privatelink-linker/atlas',
          MONGODB_ATLAS_BASE_URL: 'https://atlas.example.test',
          DRY_RUN: 'false',
          ALLOWED_ACCOUNT_IDS: '123456789012,210987654321',
          ALLOWED_VPC_IDS: 'vpc-0123456789abcdef0',
          OPT_OUT_TAG: 'atlas-privatelink-linker:opt-out',
          CROSS_ACCOUNT_ROLE_NAME: 'AtlasPrivateLinkReader',
        }),
      },
      ReservedConcurrentExecutions: 3,
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }),
    });
  });

  test('async invocations retry twice then go to the queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
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
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.exact(EXPECTED_PATTERN) });
  });

  test('listens on the default bus', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    assert.equal(rules.length, 1);
    assert.equal(rules[0].Properties.EventBusName, undefined);
  });

  test('targets the function with retries and queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
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

  test('role uses inline policies only', () => {
    const roles = Object.values(minimal.findResources('AWS::IAM::Role'));
    assert.equal(roles.length, 1);
    assert.equal(roles[0].Properties.ManagedPolicyArns, undefined);
    assert.deepEqual(Object.keys(minimal.findResources('AWS::IAM::Policy')), []);
  });

  test('role statements of minimal settings', () => {
    const roles = Object.values(minimal.findResources('AWS::IAM::Role'));
    const sids = roles[0].Properties.Policies[0].PolicyDocument.Statement.map((s: { Sid: string }) => s.Sid);
    assert.deepEqual(sids, [
      'WriteFunctionLogs',
      'DescribeVpcEndpoints',
      'ReadAtlasCredentials',
      'TagLinkedEndpoints',
      'SendFailedEventsToDeadLetterQueue',
    ]);
  });

  test('logs only to the stack log groups', () => {
    const statement = roleStatement(minimal, 'WriteFunctionLogs');
    assert.deepEqual(statement.Action, ['logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.match(JSON.stringify(statement.Resource), /:log-group:\/aws\/lambda\/AtlasPrivateLinkLinker-\*:\*"/);
  });

  test('describes endpoints on every resource', () => {
    const statement = roleStatement(minimal, 'DescribeVpcEndpoints');
    assert.equal(statement.Action, 'ec2:DescribeVpcEndpoints');
    assert.equal(statement.Resource, '*');
  });

  test('reads the secret by name', () => {
    const statement = roleStatement(minimal, 'ReadAtlasCredentials');
    assert.equal(statement.Action, 'secretsmanager:GetSecretValue');
    assert.match(JSON.stringify(statement.Resource), /:secret:atlas-privatelink-linker\/atlas-\?\?\?\?\?\?"/);
  });

  test('reads the secret by ARN', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:atlas-AbCdEf';
    const statement = roleStatement(linkerTemplate(minimalSettings({ atlasCredentialsSecret: arn })), 'ReadAtlasCredentials');
    assert.equal(statement.Resource, arn);
  });

  test('tags only with the linked key', () => {
    const statement = roleStatement(minimal, 'TagLinkedEndpoints');
    assert.equal(statement.Action, 'ec2:CreateTags');
    assert.match(JSON.stringify(statement.Resource), /:ec2:\*:123456789012:vpc-endpoint\/\*"/);
    assert.deepEqual(statement.Condition?.['ForAllValues:StringEquals'], {
      'aws:TagKeys': ['atlas-privatelink-linker:linked'],
    });
    assert.deepEqual(statement.Condition?.Null, { 'aws:RequestTag/atlas-privatelink-linker:linked': 'false' });
  });

  test('sends only to the dead-letter queue', () => {
    const statement = roleStatement(minimal, 'SendFailedEventsToDeadLetterQueue');
    assert.equal(statement.Action, 'sqs:SendMessage');
    assert.match(JSON.stringify(statement.Resource), /DeadLetterQueue/);
  });

  test('assumes no role without a role name', () => {
    assert.throws(() => roleStatement(minimal, 'AssumeCrossAccountReadRole'), /found 0/);
  });

  test('assumes only the named cross-account role', () => {
    const statement = roleStatement(full, 'AssumeCrossAccountReadRole');
    assert.equal(statement.Action, 'sts:AssumeRole');
    assert.match(JSON.stringify(statement.Resource), /:iam::\*:role\/AtlasPrivateLinkReader"/);
  });

  test('decrypts only through Secrets Manager', () => {
    assert.throws(() => roleStatement(minimal, 'DecryptAtlasCredentials'), /found 0/);
    const statement = roleStatement(full, 'DecryptAtlasCredentials');
    assert.equal(statement.Action, 'kms:Decrypt');
    assert.equal(statement.Resource, fullSettings().atlasCredentialsKmsKeyArn);
    assert.match(JSON.stringify(statement.Condition), /secretsmanager\.us-east-1\./);
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

  test('three alarms exist', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  });

  test('function errors alarm', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
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
    assert.equal(alarms.length, 3);
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
  test('name function, bus and queue', () => {
    const outputs = linkerTemplate(minimalSettings()).toJSON().Outputs;
    for (const name of [
      'LinkerEventsFunctionName',
      'LinkerEventsFunctionArn',
      'LinkerEventsLogGroupName',
      'FunctionRoleArn',
      'EventBusArn',
      'DeadLetterQueueUrl',
      'DeadLetterQueueArn',
    ]) {
      assert.ok(outputs[name], `output ${name} is missing`);
    }
    assert.match(JSON.stringify(outputs.EventBusArn.Value), /:events:us-east-1:123456789012:event-bus\/default"/);
  });
});
