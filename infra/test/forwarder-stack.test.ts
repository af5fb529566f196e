import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ForwarderStack } from '../lib/forwarder-stack';
import { LinkerReadRoleSettings } from '../lib/settings';
import { actionsOf, allStatements, forwarderTemplate, linkerTemplate, minimalSettings, propertiesOf } from './helpers';

const EVENTS_ROLE_ARN = 'arn:aws:iam::999999999999:role/atlas-privatelink-linker-LinkerEventsRole-ABC';
const RECONCILE_ROLE_ARN = 'arn:aws:iam::999999999999:role/atlas-privatelink-linker-LinkerReconcileRole-DEF';

const READ_ROLE: LinkerReadRoleSettings = {
  roleName: 'atlas-linker-read',
  path: '/team/',
  region: 'us-east-1',
  linkerEventsRoleArn: EVENTS_ROLE_ARN,
  linkerReconcileRoleArn: RECONCILE_ROLE_ARN,
};

describe('forwarder stack', () => {
  const template = forwarderTemplate('us-west-2');

  test('uses the linker rule pattern', () => {
    const forwarderPattern = Object.values(template.findResources('AWS::Events::Rule'))[0].Properties.EventPattern;
    const linkerPattern = Object.values(linkerTemplate(minimalSettings()).findResources('AWS::Events::Rule'))[0].Properties
      .EventPattern;
    assert.deepEqual(forwarderPattern, linkerPattern);
  });

  test('targets the main region default bus', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [
        {
          Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:us-east-1:123456789012:event-bus/default']] },
          Id: Match.anyValue(),
          RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ForwardRole'), 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ForwardDeadLetterQueue'), 'Arn'] } },
        },
      ],
    });
  });

  test('targets another account when given', () => {
    forwarderTemplate('eu-west-1', { targetAccountId: '999999999999' }).hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ Arn: { 'Fn::Join': ['', Match.arrayWith([':events:us-east-1:999999999999:event-bus/default'])] } })],
    });
  });

  test('role trusts EventBridge of this account', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          },
        ],
      },
    });
  });

  test('role may only put events on the target bus', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      Policies: [
        {
          PolicyName: 'put-events-on-target-bus',
          PolicyDocument: {
            Statement: [
              {
                Sid: 'PutEventsOnTargetBus',
                Effect: 'Allow',
                Action: 'events:PutEvents',
                Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:us-east-1:123456789012:event-bus/default']] },
              },
            ],
            Version: '2012-10-17',
          },
        },
      ],
    });
  });

  test('no allow statement has a wildcard action', () => {
    for (const statement of allStatements(template).filter((s) => s.Effect === 'Allow')) {
      for (const action of actionsOf(statement)) {
        assert.doesNotMatch(action, /\*/, `statement ${statement.Sid ?? '(no Sid)'} allows ${action}`);
      }
    }
  });

  test('dead-letter queue is encrypted', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  test('dead-letter queue accepts only the rule', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('^ForwardRule'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('alarms on undelivered events', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
    });
  });

  test('alarm notifies the named topic', () => {
    forwarderTemplate('eu-west-1', { alarmTopicName: 'ops-alarms' }).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sns:eu-west-1:123456789012:ops-alarms']] }],
    });
  });

  test('rejects the main region', () => {
    assert.throws(
      () =>
        new ForwarderStack(new App(), 'AtlasPrivateLinkForwarder-us-east-1', {
          env: { region: 'us-east-1' },
          targetRegion: 'us-east-1',
        }),
      /forward us-east-1 events to the bus they come from/,
    );
  });

  test('accepts the main region of another account', () => {
    forwarderTemplate('us-east-1', { targetAccountId: '999999999999' }).hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ Arn: { 'Fn::Join': ['', Match.arrayWith([':events:us-east-1:999999999999:event-bus/default'])] } })],
    });
  });

  test('rejects a stack without region', () => {
    assert.throws(
      () => new ForwarderStack(new App(), 'AtlasPrivateLinkForwarder', { targetRegion: 'us-east-1' }),
      /needs an explicit region/,
    );
  });
});

describe('forwarder read role', () => {
  const template = forwarderTemplate('us-east-1', { targetAccountId: '999999999999', linkerReadRole: READ_ROLE });

  test('is created in its region', () => {
    template.resourceCountIs('AWS::IAM::Role', 2);
    const role = propertiesOf(template, 'AWS::IAM::Role', 'LinkerReadRole');
    assert.equal(role.RoleName, 'atlas-linker-read');
    assert.equal(role.Path, '/team/');
  });

  test('is not created in other regions', () => {
    const other = forwarderTemplate('us-west-2', { targetAccountId: '999999999999', linkerReadRole: READ_ROLE });
    other.resourceCountIs('AWS::IAM::Role', 1);
    assert.equal(other.toJSON().Outputs.LinkerReadRoleArn, undefined);
  });

  test('is not created without settings', () => {
    forwarderTemplate('us-west-2').resourceCountIs('AWS::IAM::Role', 1);
  });

  test('trusts only the two linker roles', () => {
    const trust = propertiesOf(template, 'AWS::IAM::Role', 'LinkerReadRole').AssumeRolePolicyDocument.Statement;
    assert.deepEqual(trust, [
      { Effect: 'Allow', Principal: { AWS: EVENTS_ROLE_ARN }, Action: 'sts:AssumeRole' },
      { Effect: 'Allow', Principal: { AWS: RECONCILE_ROLE_ARN }, Action: 'sts:AssumeRole' },
    ]);
  });

  test('may describe endpoints and tag with linker keys', () => {
    const policies = propertiesOf(template, 'AWS::IAM::Role', 'LinkerReadRole').Policies;
    assert.equal(policies.length, 1);
    assert.deepEqual(policies[0].PolicyDocument.Statement, [
      { Sid: 'DescribeVpcEndpoints', Effect: 'Allow', Action: 'ec2:DescribeVpcEndpoints', Resource: '*' },
      {
        Sid: 'TagLinkedAndRepairedEndpoints',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:*:123456789012:vpc-endpoint/*']],
        },
        Condition: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['atlas-privatelink-linker:linked', 'atlas-privatelink-linker:repaired'] },
          Null: { 'aws:TagKeys': 'false' },
        },
      },
    ]);
  });

  test('has no managed policies', () => {
    assert.equal(propertiesOf(template, 'AWS::IAM::Role', 'LinkerReadRole').ManagedPolicyArns, undefined);
    assert.deepEqual(Object.keys(template.findResources('AWS::IAM::Policy')), []);
  });

  test('outputs its ARN', () => {
    const output = template.toJSON().Outputs.LinkerReadRoleArn;
    assert.match(JSON.stringify(output.Value), /^\{"Fn::GetAtt":\["LinkerReadRole[0-9A-F]{8}","Arn"\]\}$/);
  });
});
