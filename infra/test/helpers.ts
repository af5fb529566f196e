import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { ForwarderStack, ForwarderStackProps } from '../lib/forwarder-stack';
import { LinkerStack } from '../lib/linker-stack';
import { LinkerSettings } from '../lib/settings';

/** Workspace manifest, the same path that bin/app.ts passes. */
export const MANIFEST_PATH = path.resolve(__dirname, '..', '..', 'Cargo.toml');

/**
 * Puts a stand-in `cargo` first on PATH, so no test runs the real cargo or cargo-lambda. The
 * stand-in appends its arguments to CARGO_CALLS_LOG and succeeds only for `cargo lambda --version`,
 * the probe that cargo-lambda-cdk runs when a RustFunction is constructed.
 */
function installCargoStandIn(): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'cargo-stand-in-'));
  const callsLog = path.join(directory, 'calls.log');
  const script = [
    '#!/bin/sh',
    `echo "cargo $*" >> '${callsLog}'`,
    '[ "$1 $2" = "lambda --version" ] && exit 0',
    'exit 1',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(directory, 'cargo'), script, { mode: 0o755 });
  fs.writeFileSync(callsLog, '');
  process.env.PATH = `${directory}${path.delimiter}${process.env.PATH ?? ''}`;
  return callsLog;
}

export const CARGO_CALLS_LOG = installCargoStandIn();

/** Returns the `cargo` command lines recorded by the stand-in so far. */
export function cargoCalls(): string[] {
  return fs.readFileSync(CARGO_CALLS_LOG, 'utf8').split('\n').filter((line) => line !== '');
}

/** Returns an App whose stacks skip asset bundling, so no test builds the Rust workspace. */
export function appWithoutBundling(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** Settings with only the required values set, as a first deploy would pass them. */
export function minimalSettings(overrides: Partial<LinkerSettings> = {}): LinkerSettings {
  return {
    atlasProjectIds: ['0123456789abcdef01234567'],
    atlasCredentialsSecret: 'atlas-privatelink-linker/atlas',
    dryRun: true,
    logLevel: lambda.ApplicationLogLevel.INFO,
    logRetention: logs.RetentionDays.ONE_MONTH,
    reservedConcurrency: 2,
    allowedAccountIds: [],
    allowedVpcIds: [],
    waitBudgetSeconds: 30,
    reconcileSchedule: 'rate(15 minutes)',
    reconcileRegions: [],
    mismatchAgeLimitMinutes: 60,
    forwarderAccountIds: [],
    ...overrides,
  };
}

/** Settings with every optional value set. */
export function fullSettings(): LinkerSettings {
  return minimalSettings({
    atlasProjectIds: ['0123456789abcdef01234567', '76543210fedcba9876543210'],
    atlasCredentialsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    atlasBaseUrl: 'https://atlas.example.test',
    dryRun: false,
    logLevel: lambda.ApplicationLogLevel.DEBUG,
    logRetention: logs.RetentionDays.THREE_MONTHS,
    reservedConcurrency: 3,
    allowedAccountIds: ['123456789012', '210987654321'],
    allowedVpcIds: ['vpc-0123456789abcdef0'],
    optOutTag: 'atlas-privatelink-linker:opt-out',
    crossAccountRoleName: 'team/atlas-linker-read',
    waitBudgetSeconds: 45,
    reconcileSchedule: 'rate(1 hour)',
    reconcileRegions: ['us-west-2', 'eu-west-1'],
    mismatchAgeLimitMinutes: 120,
    forwarderAccountIds: ['111111111111', '222222222222'],
    forwarderOrganizationId: 'o-abcdefghij',
    alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops-alarms',
  });
}

/** Synthesizes the linker stack in us-east-1 with the given settings. */
export function linkerTemplate(settings: LinkerSettings): Template {
  const stack = new LinkerStack(appWithoutBundling(), 'AtlasPrivateLinkLinker', {
    env: { account: '123456789012', region: 'us-east-1' },
    settings,
    manifestPath: MANIFEST_PATH,
  });
  return Template.fromStack(stack);
}

/** Synthesizes a forwarder in `region` that targets us-east-1. */
export function forwarderTemplate(region: string, props: Partial<ForwarderStackProps> = {}): Template {
  const stack = new ForwarderStack(appWithoutBundling(), `AtlasPrivateLinkForwarder-${region}`, {
    env: { account: '123456789012', region },
    targetRegion: 'us-east-1',
    ...props,
  });
  return Template.fromStack(stack);
}

/** IAM policy statement as it appears in a synthesized template. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/**
 * Collects every policy statement in the template: inline role policies, managed policies,
 * trust policies, queue policies and event bus policies.
 */
export function allStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, any> }>;
  for (const resource of Object.values(resources)) {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        statements.push(...properties.AssumeRolePolicyDocument.Statement);
        for (const policy of properties.Policies ?? []) {
          statements.push(...policy.PolicyDocument.Statement);
        }
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::SQS::QueuePolicy':
        statements.push(...properties.PolicyDocument.Statement);
        break;
      case 'AWS::Events::EventBusPolicy':
        statements.push(properties.Statement);
        break;
    }
  }
  return statements;
}

/** Returns the statement's actions as a list. */
export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Returns the logical id of the one resource of `type` whose id starts with `prefix`. */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) {
    throw new Error(`Expected one ${type} whose logical id starts with ${prefix}, found ${ids.length}: ${ids.join(', ')}.`);
  }
  return ids[0];
}

/** Returns the properties of the one resource of `type` whose logical id starts with `prefix`. */
export function propertiesOf(template: Template, type: string, prefix: string): Record<string, any> {
  return template.toJSON().Resources[logicalIdOf(template, type, prefix)].Properties;
}

/**
 * Asserts that the one resource of `type` whose logical id starts with `prefix` has `properties`,
 * which may use the `Match` helpers. The message shows the actual properties.
 */
export function assertPropertiesOf(template: Template, type: string, prefix: string, properties: Record<string, unknown>): void {
  const id = logicalIdOf(template, type, prefix);
  const matching = Object.keys(template.findResources(type, { Properties: properties }));
  assert.ok(
    matching.includes(id),
    `${id} does not match ${JSON.stringify(properties)}. Its properties are ${JSON.stringify(propertiesOf(template, type, prefix))}`,
  );
}

/**
 * Returns the inline policy statements of the execution role whose logical id starts with
 * `rolePrefix`, such as `LinkerEventsRole`.
 */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const role = propertiesOf(template, 'AWS::IAM::Role', rolePrefix);
  return (role.Policies ?? []).flatMap((policy: any) => policy.PolicyDocument.Statement);
}

/** Returns the one inline policy statement with the given Sid of the role whose id starts with `rolePrefix`. */
export function roleStatement(template: Template, rolePrefix: string, sid: string): Statement {
  const matches = roleStatements(template, rolePrefix).filter((statement) => statement.Sid === sid);
  if (matches.length !== 1) {
    throw new Error(`Expected one statement with Sid ${sid} in ${rolePrefix}, found ${matches.length}.`);
  }
  return matches[0];
}
