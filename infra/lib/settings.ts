import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';

/** Deployment settings of the linker stack, which template.yaml takes as parameters. */
export interface LinkerSettings {
  /** Atlas project ids (24 lower-case hex digits each), passed as ATLAS_PROJECT_IDS. */
  readonly atlasProjectIds: string[];
  /** Name or full ARN of the Secrets Manager secret with the Atlas credentials. */
  readonly atlasCredentialsSecret: string;
  /** Customer managed KMS key that encrypts the secret, when it does not use aws/secretsmanager. */
  readonly atlasCredentialsKmsKeyArn?: string;
  /** Atlas Admin API base URL. When absent, the function uses its built-in default. */
  readonly atlasBaseUrl?: string;
  /** When true, the function logs what it would change and changes nothing. */
  readonly dryRun: boolean;
  /** Application log level that Lambda passes as AWS_LAMBDA_LOG_LEVEL. */
  readonly logLevel: lambda.ApplicationLogLevel;
  /** Days CloudWatch Logs keeps the function's log events. */
  readonly logRetention: logs.RetentionDays;
  /** Reserved concurrent executions, which bounds the request rate to the Atlas Admin API. */
  readonly reservedConcurrency: number;
  /** Accounts whose endpoints may be linked. An empty list accepts every account. */
  readonly allowedAccountIds: string[];
  /** VPCs whose endpoints may be linked. An empty list accepts every VPC. */
  readonly allowedVpcIds: string[];
  /** Tag key that makes the function ignore an endpoint. */
  readonly optOutTag?: string;
  /**
   * Role, by name with an optional path such as `team/atlas-linker-read`, that both functions
   * assume in the account of an event from another account. Passed as CROSS_ACCOUNT_ROLE_NAME.
   */
  readonly crossAccountRoleName?: string;
  /**
   * Seconds both functions keep re-reading an endpoint whose link is still converging, passed as
   * WAIT_BUDGET_SECONDS. The functions cap it at half the invocation's remaining time.
   */
  readonly waitBudgetSeconds: number;
  /** EventBridge schedule expression of the reconcile sweep, such as `rate(15 minutes)`. */
  readonly reconcileSchedule: string;
  /** Regions the reconcile sweep also searches for endpoints, passed as RECONCILE_REGIONS. */
  readonly reconcileRegions: string[];
  /** Minutes after which the reconcile sweep reports a mismatch as overdue. */
  readonly mismatchAgeLimitMinutes: number;
  /** Other accounts whose forwarders may put events on the main region's default bus. */
  readonly forwarderAccountIds: string[];
  /** Organization whose accounts may put forwarded events on the main region's default bus. */
  readonly forwarderOrganizationId?: string;
  /** SNS topic that receives alarm and OK notifications. */
  readonly alarmTopicArn?: string;
}

/**
 * Settings of the role that a forwarder creates in another account, so that the linker functions
 * can describe and tag that account's VPC endpoints. The parameters of the same names in
 * infra/sam/forwarder.yaml take the same values.
 */
export interface LinkerReadRoleSettings {
  /** Role name without path. */
  readonly roleName: string;
  /** IAM path, `/` for none. The role's ARN ends in `role<path><roleName>`. */
  readonly path: string;
  /** Region whose forwarder creates the role, because IAM roles are global. */
  readonly region: string;
  /** Execution role of linker-events, the LinkerEventsRoleArn output of the linker stack. */
  readonly linkerEventsRoleArn: string;
  /** Execution role of linker-reconcile, the LinkerReconcileRoleArn output of the linker stack. */
  readonly linkerReconcileRoleArn: string;
}

/** Source of raw setting values, such as `app.node.tryGetContext`. */
export type ContextReader = (key: string) => unknown;

const PROJECT_ID = /^[0-9a-f]{24}$/;
const ACCOUNT_ID = /^[0-9]{12}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SECRET = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[A-Za-z0-9-]+$/;
const BASE_URL = /^https:\/\/\S+$/;
const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]$/;
const TAG_KEY = /^.{1,128}$/;
// IAM role names and path segments use letters, digits and +=,.@_- characters.
const ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;
// A role name after an optional path without its leading slash, as CROSS_ACCOUNT_ROLE_NAME takes it.
const ROLE_NAME_WITH_PATH = /^([A-Za-z0-9+=,.@_-]+\/)*[A-Za-z0-9+=,.@_-]{1,64}$/;
// The functions reject a CROSS_ACCOUNT_ROLE_NAME longer than this.
const ROLE_NAME_WITH_PATH_MAX_LENGTH = 512;
// At most 449 characters, so that the path without its leading slash and a 64-character name fit
// ROLE_NAME_WITH_PATH_MAX_LENGTH.
const ROLE_PATH = /^\/([A-Za-z0-9+=,.@_-]+\/)*$/;
const ROLE_PATH_MAX_LENGTH = 449;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;
// EventBridge requires a singular unit for 1 (rate(1 hour)) and a plural unit otherwise.
const SCHEDULE = /^(rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)|cron\([^()]+\))$/;

/** Default of the reconcile schedule, the same as the ReconcileSchedule default in template.yaml. */
export const DEFAULT_RECONCILE_SCHEDULE = 'rate(15 minutes)';

/** Retention values that CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = new Set<number>(
  Object.values(logs.RetentionDays).filter((value): value is number => typeof value === 'number'),
);

const LOG_LEVELS = new Set<string>(Object.values(lambda.ApplicationLogLevel));

/** Returns the trimmed string value of `key`, or undefined when it is absent or empty. */
function readString(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null) {
    return undefined;
  }
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** Splits a comma-separated value (or takes a JSON array) and checks each item against `pattern`. */
export function readList(read: ContextReader, key: string, pattern: RegExp): string[] {
  const value = read(key);
  if (value === undefined || value === null) {
    return [];
  }
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  const trimmed = items.map((item) => item.trim()).filter((item) => item !== '');
  for (const item of trimmed) {
    if (!pattern.test(item)) {
      throw new Error(`Invalid item '${item}' in context value ${key}: expected ${pattern}.`);
    }
  }
  return trimmed;
}

function readMatching(read: ContextReader, key: string, pattern: RegExp): string | undefined {
  const value = readString(read, key);
  if (value !== undefined && !pattern.test(value)) {
    throw new Error(`Invalid context value ${key}='${value}': expected ${pattern}.`);
  }
  return value;
}

function readBounded(read: ContextReader, key: string, pattern: RegExp, maxLength: number): string | undefined {
  const value = readMatching(read, key, pattern);
  if (value !== undefined && value.length > maxLength) {
    throw new Error(`Invalid context value ${key}='${value}': expected at most ${maxLength} characters, found ${value.length}.`);
  }
  return value;
}

function readBoolean(read: ContextReader, key: string, fallback: boolean): boolean {
  const value = readString(read, key);
  if (value === undefined) {
    return fallback;
  }
  if (value !== 'true' && value !== 'false') {
    throw new Error(`Invalid context value ${key}='${value}': expected true or false.`);
  }
  return value === 'true';
}

function readInteger(read: ContextReader, key: string, fallback: number, min: number, max: number): number {
  const value = readString(read, key);
  if (value === undefined) {
    return fallback;
  }
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new Error(`Invalid context value ${key}='${value}': expected an integer from ${min} to ${max}.`);
  }
  return number;
}

/** Returns the region named by `key`, checked against the AWS region name format. */
export function readRegion(read: ContextReader, key: string): string | undefined {
  return readMatching(read, key, REGION);
}

/** Returns the list of regions named by `key`. */
export function readRegions(read: ContextReader, key: string): string[] {
  return readList(read, key, REGION);
}

/** Returns the account id named by `key`. */
export function readAccountId(read: ContextReader, key: string): string | undefined {
  return readMatching(read, key, ACCOUNT_ID);
}

/**
 * Reads and validates the linker settings from CDK context values (`cdk deploy -c key=value`).
 * Throws an error that names the key when a value is missing or invalid.
 */
export function readLinkerSettings(read: ContextReader): LinkerSettings {
  const atlasProjectIds = readList(read, 'atlasProjectIds', PROJECT_ID);
  if (atlasProjectIds.length === 0) {
    throw new Error('Missing context value atlasProjectIds: pass -c atlasProjectIds=<id>[,<id>...].');
  }
  const atlasCredentialsSecret = readMatching(read, 'atlasCredentialsSecret', SECRET);
  if (atlasCredentialsSecret === undefined) {
    throw new Error('Missing context value atlasCredentialsSecret: pass -c atlasCredentialsSecret=<secret name or ARN>.');
  }

  const logLevel = readString(read, 'logLevel') ?? lambda.ApplicationLogLevel.INFO;
  if (!LOG_LEVELS.has(logLevel)) {
    throw new Error(`Invalid context value logLevel='${logLevel}': expected one of ${[...LOG_LEVELS].join(', ')}.`);
  }
  const logRetentionDays = readInteger(read, 'logRetentionDays', 30, 1, 3653);
  if (!RETENTION_DAYS.has(logRetentionDays)) {
    throw new Error(`Invalid context value logRetentionDays='${logRetentionDays}': CloudWatch Logs accepts ${[...RETENTION_DAYS].join(', ')}.`);
  }

  return {
    atlasProjectIds,
    atlasCredentialsSecret,
    atlasCredentialsKmsKeyArn: readMatching(read, 'atlasCredentialsKmsKeyArn', KMS_KEY_ARN),
    atlasBaseUrl: readMatching(read, 'atlasBaseUrl', BASE_URL),
    dryRun: readBoolean(read, 'dryRun', true),
    logLevel: logLevel as lambda.ApplicationLogLevel,
    logRetention: logRetentionDays as logs.RetentionDays,
    reservedConcurrency: readInteger(read, 'reservedConcurrency', 2, 1, 20),
    allowedAccountIds: readList(read, 'allowedAccountIds', ACCOUNT_ID),
    allowedVpcIds: readList(read, 'allowedVpcIds', VPC_ID),
    optOutTag: readMatching(read, 'optOutTag', TAG_KEY),
    crossAccountRoleName: readBounded(read, 'crossAccountRoleName', ROLE_NAME_WITH_PATH, ROLE_NAME_WITH_PATH_MAX_LENGTH),
    waitBudgetSeconds: readInteger(read, 'waitBudgetSeconds', 30, 0, 840),
    reconcileSchedule: readMatching(read, 'reconcileSchedule', SCHEDULE) ?? DEFAULT_RECONCILE_SCHEDULE,
    reconcileRegions: readRegions(read, 'reconcileRegions'),
    mismatchAgeLimitMinutes: readInteger(read, 'mismatchAgeLimitMinutes', 60, 1, 10080),
    forwarderAccountIds: readList(read, 'forwarderAccountIds', ACCOUNT_ID),
    forwarderOrganizationId: readMatching(read, 'forwarderOrganizationId', ORGANIZATION_ID),
    alarmTopicArn: readMatching(read, 'alarmTopicArn', SNS_TOPIC_ARN),
  };
}

/**
 * Reads the read-role settings of the forwarders (`-c linkerReadRoleName=...`). Returns undefined
 * when linkerReadRoleName is not set, and throws an error that names the key when a value is
 * missing or invalid. linkerReadRoleRegion defaults to `defaultRegion`, the linker stack's region.
 */
export function readLinkerReadRoleSettings(read: ContextReader, defaultRegion: string): LinkerReadRoleSettings | undefined {
  const roleName = readMatching(read, 'linkerReadRoleName', ROLE_NAME);
  if (roleName === undefined) {
    return undefined;
  }
  return {
    roleName,
    path: readBounded(read, 'linkerReadRolePath', ROLE_PATH, ROLE_PATH_MAX_LENGTH) ?? '/',
    region: readRegion(read, 'linkerReadRoleRegion') ?? defaultRegion,
    linkerEventsRoleArn: readTrustedRoleArn(read, 'linkerEventsRoleArn', 'LinkerEventsRoleArn'),
    linkerReconcileRoleArn: readTrustedRoleArn(read, 'linkerReconcileRoleArn', 'LinkerReconcileRoleArn'),
  };
}

/** Returns the required role ARN named by `key`, which the linker stack outputs as `output`. */
function readTrustedRoleArn(read: ContextReader, key: string, output: string): string {
  const arn = readMatching(read, key, ROLE_ARN);
  if (arn === undefined) {
    throw new Error(
      `Missing context value ${key}: linkerReadRoleName needs it, because the read role trusts both linker roles. Pass the ${output} output of the linker stack.`,
    );
  }
  return arn;
}
