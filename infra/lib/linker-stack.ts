import { ArnFormat, CfnOutput, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VPC_ENDPOINT_EVENT_PATTERN } from './event-pattern';
import { LinkerFunction } from './linker-function';
import { LINKED_TAG_KEY, METRIC_DIMENSION, METRIC_NAMESPACE } from './names';
import { LinkerSettings } from './settings';

export interface LinkerStackProps extends StackProps {
  readonly settings: LinkerSettings;
  /** Path of the Cargo workspace's Cargo.toml. */
  readonly manifestPath: string;
}

/**
 * Main-region stack: the linker-events function, the rule that feeds it local and forwarded
 * CloudTrail events, the dead-letter queue, the event bus grants for forwarders in other accounts,
 * and the alarms. It deploys the same resources and permissions as template.yaml.
 */
export class LinkerStack extends Stack {
  readonly role: iam.Role;
  readonly deadLetterQueue: sqs.Queue;
  readonly linkerEvents: LinkerFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: LinkerStackProps) {
    super(scope, id, props);
    const settings = props.settings;

    // Receives events that EventBridge could not deliver and invocations that failed after
    // Lambda's retries. Each message keeps the original event.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
      enforceSSL: true,
    });

    this.role = new iam.Role(this, 'FunctionRole', {
      description: 'Execution role of the atlas-privatelink-linker functions',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        linker: new iam.PolicyDocument({
          statements: functionRoleStatements(this, settings, this.deadLetterQueue),
        }),
      },
    });

    const environment = functionEnvironment(settings);

    this.linkerEvents = new LinkerFunction(this, 'LinkerEvents', {
      binaryName: 'linker-events',
      manifestPath: props.manifestPath,
      description: 'Links and unlinks Atlas private endpoints on CreateVpcEndpoint and DeleteVpcEndpoints events',
      role: this.role,
      environment,
      reservedConcurrency: settings.reservedConcurrency,
      logLevel: settings.logLevel,
      logRetention: settings.logRetention,
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

    // --- Add further functions here: a LinkerFunction with this.role, the same environment
    // --- (plus its own variables) and its trigger. Its errors alarm comes with the construct.

    this.addForwarderGrants(settings);

    const alarms = [
      this.linkerEvents.errorsAlarm,
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
    new CfnOutput(this, 'FunctionRoleArn', {
      description: 'Execution role of the functions, which the roles named by crossAccountRoleName must trust',
      value: this.role.roleArn,
    });
    new CfnOutput(this, 'EventBusArn', {
      description: 'ARN of the default event bus that receives local and forwarded events, and that forwarding stacks target',
      value: this.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
    });
    new CfnOutput(this, 'DeadLetterQueueUrl', { description: 'URL of the dead-letter queue', value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueArn', { description: 'ARN of the dead-letter queue', value: this.deadLetterQueue.queueArn });
  }
}

/** Builds the function environment. Optional settings that are absent are left out, not set empty. */
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
  return environment;
}

/**
 * Returns the execution role's statements. Every statement names its actions, and only
 * ec2:DescribeVpcEndpoints, which supports no resource-level permissions, uses Resource "*".
 */
export function functionRoleStatements(
  stack: Stack,
  settings: LinkerSettings,
  deadLetterQueue: sqs.IQueue,
): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'WriteFunctionLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: `/aws/lambda/${stack.stackName}-*:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
    new iam.PolicyStatement({
      sid: 'DescribeVpcEndpoints',
      actions: ['ec2:DescribeVpcEndpoints'],
      resources: ['*'],
    }),
    new iam.PolicyStatement({
      sid: 'ReadAtlasCredentials',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArn(stack, settings.atlasCredentialsSecret)],
    }),
  ];

  if (settings.atlasCredentialsKmsKeyArn !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptAtlasCredentials',
        actions: ['kms:Decrypt'],
        resources: [settings.atlasCredentialsKmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
  }

  statements.push(
    new iam.PolicyStatement({
      sid: 'TagLinkedEndpoints',
      actions: ['ec2:CreateTags'],
      resources: [
        stack.formatArn({ service: 'ec2', region: '*', resource: 'vpc-endpoint', resourceName: '*' }),
      ],
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': [LINKED_TAG_KEY] },
        Null: { [`aws:RequestTag/${LINKED_TAG_KEY}`]: 'false' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'SendFailedEventsToDeadLetterQueue',
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn],
    }),
  );

  if (settings.crossAccountRoleName !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AssumeCrossAccountReadRole',
        actions: ['sts:AssumeRole'],
        resources: [
          stack.formatArn({
            service: 'iam',
            region: '',
            account: '*',
            resource: 'role',
            resourceName: settings.crossAccountRoleName,
          }),
        ],
      }),
    );
  }

  return statements;
}

/** Returns the secret's ARN, with the six random characters that Secrets Manager appends to names. */
function secretArn(stack: Stack, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) {
    return nameOrArn;
  }
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${nameOrArn}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
