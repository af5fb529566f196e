import { App, Stack } from 'aws-cdk-lib';
import { ForwarderStack } from './forwarder-stack';
import { LinkerStack } from './linker-stack';
import { forwarderStackName, LINKER_STACK_NAME } from './names';
import { readAccountId, readLinkerReadRoleSettings, readLinkerSettings, readRegion, readRegions } from './settings';

export interface BuildStacksOptions {
  /** Path of the Cargo workspace's Cargo.toml. */
  readonly manifestPath: string;
  /** Account the CLI resolved from the credentials (CDK_DEFAULT_ACCOUNT), if any. */
  readonly account?: string;
  /** Region the CLI resolved from the profile (CDK_DEFAULT_REGION), if any. */
  readonly defaultRegion?: string;
  /** Receives notes about stacks that the context leaves out. */
  readonly log: (message: string) => void;
}

/**
 * Adds AtlasPrivateLinkLinker when the context sets atlasProjectIds, and one
 * AtlasPrivateLinkForwarder-<region> for each region in forwarderRegions.
 *
 * Besides the LinkerSettings keys (see settings.ts), the context may set:
 * - mainRegion: the linker stack's region, by default the CLI's region.
 * - forwarderRegions: comma-separated regions that get a forwarder.
 * - targetAccountId: the linker's account, for forwarders deployed from another account.
 * - forwarderAlarmTopicName: an SNS topic of this name in each forwarder region receives the
 *   forwarder's alarm notifications.
 * - linkerReadRoleName, linkerReadRolePath, linkerReadRoleRegion, linkerEventsRoleArn and
 *   linkerReconcileRoleArn: the role through which the linker functions read this account's
 *   endpoints, created by the forwarder in linkerReadRoleRegion (by default mainRegion). See
 *   readLinkerReadRoleSettings.
 */
export function buildStacks(app: App, options: BuildStacksOptions): Stack[] {
  const read = (key: string): unknown => app.node.tryGetContext(key);
  const mainRegion = readRegion(read, 'mainRegion') ?? options.defaultRegion;
  const forwarderRegions = readRegions(read, 'forwarderRegions');
  const stacks: Stack[] = [];

  if (read('atlasProjectIds') !== undefined) {
    stacks.push(
      new LinkerStack(app, LINKER_STACK_NAME, {
        description: 'atlas-privatelink-linker: links VPC interface endpoints to MongoDB Atlas PrivateLink endpoint services',
        env: { account: options.account, region: mainRegion },
        settings: readLinkerSettings(read),
        manifestPath: options.manifestPath,
      }),
    );
  } else {
    options.log(`${LINKER_STACK_NAME} is left out because the context value atlasProjectIds is not set.`);
  }

  if (forwarderRegions.length > 0 && mainRegion === undefined) {
    throw new Error('Missing context value mainRegion: forwarders need the region of the linker stack (-c mainRegion=<region>).');
  }
  const targetAccountId = readAccountId(read, 'targetAccountId');
  const alarmTopicName = read('forwarderAlarmTopicName');
  const linkerReadRole = forwarderRegions.length > 0 ? readLinkerReadRoleSettings(read, mainRegion as string) : undefined;
  // IAM roles are global, so only the forwarder in linkerReadRole.region creates the role. Without
  // a forwarder in that region, no stack would create it and nothing would report that.
  if (linkerReadRole !== undefined && !forwarderRegions.includes(linkerReadRole.region)) {
    throw new Error(
      `No forwarder creates the read role: linkerReadRoleRegion (by default mainRegion) is ${linkerReadRole.region}, which forwarderRegions (${forwarderRegions.join(',')}) does not contain. Add the region to forwarderRegions, or set linkerReadRoleRegion to one of them.`,
    );
  }
  for (const region of forwarderRegions) {
    stacks.push(
      new ForwarderStack(app, forwarderStackName(region), {
        description: `atlas-privatelink-linker: forwards ${region} VPC endpoint events to ${mainRegion}`,
        env: { account: options.account, region },
        targetRegion: mainRegion as string,
        targetAccountId,
        alarmTopicName: typeof alarmTopicName === 'string' && alarmTopicName !== '' ? alarmTopicName : undefined,
        linkerReadRole,
      }),
    );
  }

  if (stacks.length === 0) {
    throw new Error(
      'No stack to synthesize: set atlasProjectIds and atlasCredentialsSecret for the linker stack, or forwarderRegions and mainRegion for forwarders.',
    );
  }
  return stacks;
}
