import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RustFunction } from 'cargo-lambda-cdk';
import { Construct } from 'constructs';

/** Properties of one Lambda function of the linker stack. */
export interface LinkerFunctionProps {
  /** Binary target in the Cargo workspace, for example `linker-events`. */
  readonly binaryName: string;
  /** Path of the workspace's Cargo.toml, in whose directory `cargo lambda build` runs. */
  readonly manifestPath: string;
  readonly description: string;
  /** Statements of the function's execution role besides the one for its own log group. */
  readonly roleStatements: iam.PolicyStatement[];
  readonly environment: Record<string, string>;
  readonly timeout: Duration;
  readonly reservedConcurrency: number;
  readonly logLevel: lambda.ApplicationLogLevel;
  readonly logRetention: logs.RetentionDays;
  /** How often Lambda retries a failed asynchronous invocation (0 to 2). */
  readonly retryAttempts: number;
  /** How long an asynchronous invocation may wait in Lambda's queue before it is dropped. */
  readonly maxEventAge: Duration;
  /**
   * Queue that receives invocations that still fail after Lambda's retries. The role statements
   * must allow sqs:SendMessage on it. Without a queue, failed invocations are dropped.
   */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * Rust Lambda function with its execution role, log group, asynchronous invocation settings and
 * errors alarm. The settings match the Globals section and the function's blocks in template.yaml.
 */
export class LinkerFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: LinkerFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/lambda/${Stack.of(this).stackName}-${props.binaryName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The log group's ARN ends in `:*`, so the statement covers its log streams and no other group.
    const writeLogs = new iam.PolicyStatement({
      sid: 'WriteFunctionLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [this.logGroup.logGroupArn],
    });
    this.role = new iam.Role(this, 'Role', {
      description: `Execution role of the atlas-privatelink-linker ${props.binaryName} function`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        [props.binaryName]: new iam.PolicyDocument({ statements: [writeLogs, ...props.roleStatements] }),
      },
    });

    this.function = new RustFunction(this, 'Function', {
      manifestPath: props.manifestPath,
      binaryName: props.binaryName,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      role: this.role,
      memorySize: 256,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: props.environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });

    // The role's own sqs:SendMessage statement authorizes the destination, so the destination
    // binds without a grant (SqsDestination would also grant GetQueueAttributes and GetQueueUrl).
    const deadLetterQueueArn = props.deadLetterQueue?.queueArn;
    this.function.configureAsyncInvoke({
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      onFailure: deadLetterQueueArn === undefined ? undefined : { bind: () => ({ destination: deadLetterQueueArn }) },
    });

    this.errorsAlarm = this.function
      .metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM })
      .createAlarm(this, 'ErrorsAlarm', {
        alarmDescription: `The ${props.binaryName} function returned an error or timed out in the last 5 minutes. Its log group has the details.`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }
}
