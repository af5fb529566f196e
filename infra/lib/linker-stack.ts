import { CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VPC_ENDPOINT_EVENT_PATTERN } from './event-pattern';
import { eventsRoleStatements, reconcileRoleStatements } from './function-roles';
import { LinkerFunction } from './linker-function';
import { METRIC_DIMENSION, METRIC_NAMESPACE } from './names';
import { LinkerSettings } from './settings';

export interface LinkerStackProps extends StackProps {
  readonly settings: LinkerSettings;
  /** Path of the Cargo workspace's Cargo.toml. */
  readonly manifestPath: string;
}

/**
 * Main-region stack: the linker-events function, the rule that feeds it local and forwarded
 * CloudTrail events, the dead-letter queue, the linker-reconcile function and its schedule, the
 * event bus grants for forwarders in other accounts, and the alarms. It deploys the same
 * resources and permissions as template.yaml.
 */
export class LinkerStack extends Stack {
  readonly deadLetterQueue: sqs.Queue;
  readonly linkerEvents: LinkerFunction;
  readonly rule: events.Rule;
  readonly linkerReconcile: LinkerFunction;
  readonly reconcileScheduleRule: events.Rule;

  constructor(scope: Construct, id: string, props: LinkerStackProps) {
    super(scope, id, props);
    const settings = props.settings;

    // Receives the events of VpcEndpointApiCallRule that EventBridge could not deliver and the
    // linker-events invocations that failed after Lambda's retries. Each message keeps the
    // original event.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });

    const environment = functionEnvironment(settings);

    // The timeout rests on an estimate. One Atlas request with its retries takes up to about 40
    // seconds (longer when Atlas sends Retry-After), and the wait for a converging link is capped
    // at half the remaining time. An invocation that still times out is retried as a failed one. Lambda
    // retries a failed invocation twice, then sends the event record to the dead-letter queue.
    this.linkerEvents = new LinkerFunction(this, 'LinkerEvents', {
      binaryName: 'linker-events',
      manifestPath: props.manifestPath,
      description: 'Links and unlinks Atlas private endpoints on CreateVpcEndpoint and DeleteVpcEndpoints events',
      roleStatements: eventsRoleStatements(this, settings, this.deadLetterQueue),
      environment,
      timeout: Duration.seconds(90),
      reservedConcurrency: settings.reservedConcurrency,
      logLevel: settings.logLevel,
      logRetention: settings.logRetention,
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      deadLetterQueue: this.deadLetterQueue,
    });

    this.rule = new events.Rule(this, 'VpcEndpointApiCallRule', {
      description: 'Sends CreateVpcEndpoint and DeleteVpcEndpoints CloudTrail events to the linker function',
      eventPattern: VPC_ENDPOINT_EVENT_PATTERN,
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.linkerEvents.function, {
        retryAttempts: 8,
        maxEventAge: Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    );

    this.linkerReconcile = this.createReconcileFunction(settings, environment, props.manifestPath);
    this.reconcileScheduleRule = new events.Rule(this, 'ReconcileScheduleRule', {
      description: 'Starts the linker-reconcile sweep on the ReconcileSchedule schedule',
      schedule: events.Schedule.expression(settings.reconcileSchedule),
    });
    // EventBridge retries a failed delivery of the scheduled event twice within 15 minutes.
    this.reconcileScheduleRule.addTarget(
      new targets.LambdaFunction(this.linkerReconcile.function, {
        retryAttempts: 2,
        maxEventAge: Duration.minutes(15),
      }),
    );

    this.addForwarderGrants(settings);

    const alarms = [
      this.linkerEvents.errorsAlarm,
      this.linkerReconcile.errorsAlarm,
      this.createDeadLetterQueueAlarm(),
      this.createMismatchAlarm(),
    ];
    if (settings.alarmTopicArn !== undefined) {
      const action = new cloudwatchActions.SnsAction(
        sns.Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn),
      );
      for (const alarm of alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    this.addOutputs();
  }

  /**
   * Creates the reconcile function, which compares every Atlas endpoint service of the configured
   * projects with the EC2 endpoints that target it, and links, unlinks or repairs what the events
   * missed. Reserved concurrency 1 runs one sweep at a time, so a scheduled run that starts while
   * another is running waits in Lambda's queue. A failed sweep is not retried and not kept,
   * because the next scheduled sweep does the same work. A run that waits more than 15 minutes in
   * Lambda's queue is dropped for the same reason.
   */
  private createReconcileFunction(
    settings: LinkerSettings,
    environment: Record<string, string>,
    manifestPath: string,
  ): LinkerFunction {
    return new LinkerFunction(this, 'LinkerReconcile', {
      binaryName: 'linker-reconcile',
      manifestPath,
      description: 'Compares Atlas endpoint services with EC2 endpoints on a schedule and links, unlinks or repairs what events missed',
      roleStatements: reconcileRoleStatements(this, settings),
      environment: { ...environment, ...reconcileEnvironment(settings) },
      timeout: Duration.seconds(300),
      reservedConcurrency: 1,
      logLevel: settings.logLevel,
      logRetention: settings.logRetention,
      retryAttempts: 0,
      maxEventAge: Duration.minutes(15),
    });
  }

  /**
   * Lets forwarders in other accounts put events on this region's default event bus. Forwarders
   * in this account need no grant, because their role's identity policy is enough.
   */
  private addForwarderGrants(settings: LinkerSettings): void {
    const defaultBusArn = this.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' });
    const forwardedEventsOnly = {
      'ForAllValues:StringEquals': { 'events:source': ['aws.ec2'] },
      StringEquals: { 'events:detail-type': 'AWS API Call via CloudTrail' },
    };

    if (settings.forwarderAccountIds.length > 0) {
      new events.CfnEventBusPolicy(this, 'ForwarderAccountsEventBusPolicy', {
        eventBusName: 'default',
        statementId: `${this.stackName}-forwarder-accounts`,
        statement: {
          Effect: 'Allow',
          Principal: { AWS: settings.forwarderAccountIds },
          Action: 'events:PutEvents',
          Resource: defaultBusArn,
          Condition: forwardedEventsOnly,
        },
      });
    }

    if (settings.forwarderOrganizationId !== undefined) {
      new events.CfnEventBusPolicy(this, 'ForwarderOrganizationEventBusPolicy', {
        eventBusName: 'default',
        statementId: `${this.stackName}-forwarder-organization`,
        statement: {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: defaultBusArn,
          Condition: {
            ...forwardedEventsOnly,
            StringEquals: {
              ...forwardedEventsOnly.StringEquals,
              'aws:PrincipalOrgID': settings.forwarderOrganizationId,
            },
          },
        },
      });
    }
  }

  private createDeadLetterQueueAlarm(): cloudwatch.Alarm {
    return this.deadLetterQueue
      .metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM })
      .createAlarm(this, 'DeadLetterQueueAlarm', {
        alarmDescription: 'The dead-letter queue holds events that were never processed. Inspect them, fix the cause, and send them to the function again.',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }

  /** Alarms on the Mismatch metric summed over every ProjectId, with a Metrics Insights query. */
  private createMismatchAlarm(): cloudwatch.Alarm {
    const mismatches = new cloudwatch.MathExpression({
      expression: `SELECT SUM(Mismatch) FROM SCHEMA("${METRIC_NAMESPACE}", ${METRIC_DIMENSION})`,
      period: Duration.minutes(5),
      usingMetrics: {},
    });
    return mismatches.createAlarm(this, 'MismatchAlarm', {
      alarmDescription: 'EC2 and Atlas disagree about at least one endpoint link. The function\'s log lines with the verdict mismatch name the endpoint and project.',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private addOutputs(): void {
    const fn = this.linkerEvents.function;
    new CfnOutput(this, 'LinkerEventsFunctionName', { description: 'Name of the linker-events function', value: fn.functionName });
    new CfnOutput(this, 'LinkerEventsFunctionArn', { description: 'ARN of the linker-events function', value: fn.functionArn });
    new CfnOutput(this, 'LinkerEventsLogGroupName', { description: 'Log group of the linker-events function', value: this.linkerEvents.logGroup.logGroupName });
    new CfnOutput(this, 'LinkerEventsRoleArn', { description: 'Execution role of the linker-events function', value: this.linkerEvents.role.roleArn });
    const reconcile = this.linkerReconcile;
    new CfnOutput(this, 'LinkerReconcileFunctionName', { description: 'Name of the linker-reconcile function', value: reconcile.function.functionName });
    new CfnOutput(this, 'LinkerReconcileFunctionArn', { description: 'ARN of the linker-reconcile function', value: reconcile.function.functionArn });
    new CfnOutput(this, 'LinkerReconcileLogGroupName', { description: 'Log group of the linker-reconcile function', value: reconcile.logGroup.logGroupName });
    new CfnOutput(this, 'LinkerReconcileRoleArn', { description: 'Execution role of the linker-reconcile function', value: reconcile.role.roleArn });
    new CfnOutput(this, 'EventBusArn', {
      description: 'ARN of the default event bus that receives local and forwarded events, and that forwarding stacks target',
      value: this.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { description: 'URL of the dead-letter queue', value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { description: 'ARN of the dead-letter queue', value: this.deadLetterQueue.queueArn });
  }
}

/**
 * Builds the environment of both functions, the Globals environment of template.yaml. Optional
 * settings that are absent are left out, not set empty.
 */
export function functionEnvironment(settings: LinkerSettings): Record<string, string> {
  const environment: Record<string, string> = {
    ATLAS_PROJECT_IDS: settings.atlasProjectIds.join(','),
    ATLAS_CREDENTIALS_SECRET: settings.atlasCredentialsSecret,
    DRY_RUN: String(settings.dryRun),
  };
  if (settings.atlasBaseUrl !== undefined) {
    environment.MONGODB_ATLAS_BASE_URL = settings.atlasBaseUrl;
  }
  if (settings.allowedAccountIds.length > 0) {
    environment.ALLOWED_ACCOUNT_IDS = settings.allowedAccountIds.join(',');
  }
  if (settings.allowedVpcIds.length > 0) {
    environment.ALLOWED_VPC_IDS = settings.allowedVpcIds.join(',');
  }
  if (settings.optOutTag !== undefined) {
    environment.OPT_OUT_TAG = settings.optOutTag;
  }
  if (settings.crossAccountRoleName !== undefined) {
    environment.CROSS_ACCOUNT_ROLE_NAME = settings.crossAccountRoleName;
  }
  environment.WAIT_BUDGET_SECONDS = String(settings.waitBudgetSeconds);
  return environment;
}

/** Builds the variables that only the reconcile function reads, added to functionEnvironment. */
export function reconcileEnvironment(settings: LinkerSettings): Record<string, string> {
  const environment: Record<string, string> = {
    MISMATCH_AGE_LIMIT_MINUTES: String(settings.mismatchAgeLimitMinutes),
  };
  if (settings.reconcileRegions.length > 0) {
    environment.RECONCILE_REGIONS = settings.reconcileRegions.join(',');
  }
  return environment;
}
