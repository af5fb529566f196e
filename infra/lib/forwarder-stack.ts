import { CfnOutput, Duration, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VPC_ENDPOINT_EVENT_PATTERN } from './event-pattern';
import { createLinkerReadRole } from './linker-read-role';
import { LinkerReadRoleSettings } from './settings';

export interface ForwarderStackProps extends StackProps {
  /**
   * Main region, where the linker stack runs. It may equal this stack's region only when
   * targetAccountId names another account.
   */
  readonly targetRegion: string;
  /** Account of the linker stack, by default this stack's account. */
  readonly targetAccountId?: string;
  /** Name of the SNS topic in this stack's region and account that receives alarm and OK notifications. */
  readonly alarmTopicName?: string;
  /**
   * Role through which the linker functions read this account's endpoints. Every forwarder of the
   * account may get the same settings, and only the one in `linkerReadRole.region` creates the role.
   */
  readonly linkerReadRole?: LinkerReadRoleSettings;
}

/**
 * Per-region stack that sends this region's CreateVpcEndpoint and DeleteVpcEndpoints CloudTrail
 * events to the main region's default event bus. CloudTrail delivers management events to
 * EventBridge only in the region of the call. Same resources as infra/sam/forwarder.yaml.
 */
export class ForwarderStack extends Stack {
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
  readonly targetBusArn: string;
  /** The read role, when this stack's region is `linkerReadRole.region`. */
  readonly linkerReadRole?: iam.Role;

  constructor(scope: Construct, id: string, props: ForwarderStackProps) {
    super(scope, id, props);

    if (Token.isUnresolved(this.region)) {
      throw new Error(`${id} needs an explicit region: pass env.region.`);
    }
    const targetsOwnAccount = props.targetAccountId === undefined || props.targetAccountId === this.account;
    if (this.region === props.targetRegion && targetsOwnAccount) {
      throw new Error(
        `${id} would forward ${this.region} events to the bus they come from. Deploy forwarders only outside the linker stack's region, or set targetAccountId to the linker's account.`,
      );
    }

    this.targetBusArn = this.formatArn({
      service: 'events',
      region: props.targetRegion,
      account: props.targetAccountId ?? this.account,
      resource: 'event-bus',
      resourceName: 'default',
    });

    const role = new iam.Role(this, 'ForwardRole', {
      description: 'Lets EventBridge put this region\'s VPC endpoint events on the main region\'s default event bus',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      inlinePolicies: {
        'put-events-on-target-bus': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'PutEventsOnTargetBus',
              actions: ['events:PutEvents'],
              resources: [this.targetBusArn],
            }),
          ],
        }),
      },
    });

    // Receives events that EventBridge could not put on the target bus.
    this.deadLetterQueue = new sqs.Queue(this, 'ForwardDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });

    this.rule = new events.Rule(this, 'ForwardRule', {
      description: 'Forwards CreateVpcEndpoint and DeleteVpcEndpoints CloudTrail events to the linker\'s region',
      eventPattern: VPC_ENDPOINT_EVENT_PATTERN,
    });

    // targets.EventBus takes no retry policy, so this target binds the same settings as the
    // main rule's Lambda target.
    const targetBusArn = this.targetBusArn;
    const deadLetterQueue = this.deadLetterQueue;
    this.rule.addTarget({
      bind: (rule) => {
        targets.addToDeadLetterQueueResourcePolicy(rule, deadLetterQueue);
        return {
          ...targets.bindBaseTargetConfig({
            retryAttempts: 8,
            maxEventAge: Duration.hours(1),
            deadLetterQueue,
          }),
          arn: targetBusArn,
          role,
        };
      },
    });

    const alarm = this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM })
      .createAlarm(this, 'ForwardDeadLetterQueueAlarm', {
        alarmDescription: 'The forwarder\'s dead-letter queue holds events that never reached the main region. Check the target bus policy, then put them on the bus again.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    if (props.alarmTopicName !== undefined) {
      const topicArn = this.formatArn({ service: 'sns', resource: props.alarmTopicName });
      const action = new cloudwatchActions.SnsAction(sns.Topic.fromTopicArn(this, 'AlarmTopic', topicArn));
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }

    new CfnOutput(this, 'ForwardRuleArn', { description: 'ARN of the forwarding rule', value: this.rule.ruleArn });
    new CfnOutput(this, 'TargetEventBusArn', { description: 'ARN of the event bus that receives the forwarded events', value: this.targetBusArn });
    new CfnOutput(this, 'ForwardDeadLetterQueueUrl', { description: 'URL of the forwarder\'s dead-letter queue', value: this.deadLetterQueue.queueUrl });

    if (props.linkerReadRole !== undefined && props.linkerReadRole.region === this.region) {
      this.linkerReadRole = createLinkerReadRole(this, props.linkerReadRole);
      new CfnOutput(this, 'LinkerReadRoleArn', {
        description: 'ARN of the role that the linker functions assume in this account',
        value: this.linkerReadRole.roleArn,
      });
    }
  }
}
