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
  /** Execution role shared by the stack's functions. */
  readonly role: iam.IRole;
  readonly environment: Record<string, string>;
  readonly reservedConcurrency: number;
  readonly logLevel: lambda.ApplicationLogLevel;
  readonly logRetention: logs.RetentionDays;
  /** Queue that receives invocations that still fail after Lambda's retries. */
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Rust Lambda function with its log group, asynchronous invocation settings and errors alarm.
 * The settings match the Globals section and the function block of template.yaml.
 */
export class LinkerFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: LinkerFunctionProps) {
    super(scope, id);

    // The role's log statement covers /aws/lambda/<stack name>-*, so the name must keep that form.
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/aws/lambda/${Stack.of(this).stackName}-${props.binaryName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new RustFunction(this, 'Function', {
      manifestPath: props.manifestPath,
      binaryName: props.binaryName,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      role: props.role,
      memorySize: 256,
      timeout: Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: props.environment,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
    });

    // The role's own sqs:SendMessage statement authorizes the destination, so the destination
    // binds without a grant (SqsDestination would also grant GetQueueAttributes and GetQueueUrl).
    const deadLetterQueueArn = props.deadLetterQueue.queueArn;
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: { bind: () => ({ destination: deadLetterQueueArn }) },
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
