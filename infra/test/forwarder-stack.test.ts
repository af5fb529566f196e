import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ForwarderStack } from '../lib/forwarder-stack';
import { actionsOf, allStatements, forwarderTemplate, linkerTemplate, minimalSettings } from './helpers';

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
