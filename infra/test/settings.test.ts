import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildStacks } from '../lib/app-stacks';
import { readLinkerSettings } from '../lib/settings';
import { MANIFEST_PATH } from './helpers';

const REQUIRED = {
  atlasProjectIds: '0123456789abcdef01234567',
  atlasCredentialsSecret: 'atlas-privatelink-linker/atlas',
};

function reader(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

describe('readLinkerSettings', () => {
  test('applies defaults', () => {
    const settings = readLinkerSettings(reader(REQUIRED));
    assert.deepEqual(settings.atlasProjectIds, ['0123456789abcdef01234567']);
    assert.equal(settings.dryRun, true);
    assert.equal(settings.logLevel, 'INFO');
    assert.equal(settings.logRetention, 30);
    assert.equal(settings.reservedConcurrency, 2);
    assert.deepEqual(settings.allowedAccountIds, []);
    assert.equal(settings.atlasBaseUrl, undefined);
    assert.equal(settings.waitBudgetSeconds, 30);
    assert.equal(settings.reconcileSchedule, 'rate(15 minutes)');
    assert.deepEqual(settings.reconcileRegions, []);
    assert.equal(settings.mismatchAgeLimitMinutes, 60);
  });

  test('reads the reconcile settings', () => {
    const settings = readLinkerSettings(
      reader({
        ...REQUIRED,
        waitBudgetSeconds: '0',
        reconcileSchedule: 'cron(0/30 * * * ? *)',
        reconcileRegions: 'us-west-2,eu-west-1',
        mismatchAgeLimitMinutes: '10080',
      }),
    );
    assert.equal(settings.waitBudgetSeconds, 0);
    assert.equal(settings.reconcileSchedule, 'cron(0/30 * * * ? *)');
    assert.deepEqual(settings.reconcileRegions, ['us-west-2', 'eu-west-1']);
    assert.equal(settings.mismatchAgeLimitMinutes, 10080);
  });

  for (const schedule of ['rate(1 minute)', 'rate(5 minutes)', 'rate(1 day)', 'rate(12 hours)']) {
    test(`accepts schedule ${schedule}`, () => {
      assert.equal(readLinkerSettings(reader({ ...REQUIRED, reconcileSchedule: schedule })).reconcileSchedule, schedule);
    });
  }

  test('splits and trims lists', () => {
    const settings = readLinkerSettings(
      reader({ ...REQUIRED, atlasProjectIds: ' 0123456789abcdef01234567 , 76543210fedcba9876543210 ', allowedAccountIds: '' }),
    );
    assert.deepEqual(settings.atlasProjectIds, ['0123456789abcdef01234567', '76543210fedcba9876543210']);
    assert.deepEqual(settings.allowedAccountIds, []);
  });

  test('accepts JSON arrays from cdk.json', () => {
    const settings = readLinkerSettings(reader({ ...REQUIRED, allowedVpcIds: ['vpc-0123456789abcdef0'] }));
    assert.deepEqual(settings.allowedVpcIds, ['vpc-0123456789abcdef0']);
  });

  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing project ids', { atlasCredentialsSecret: 'x' }, /Missing context value atlasProjectIds/],
    ['missing secret', { atlasProjectIds: REQUIRED.atlasProjectIds }, /Missing context value atlasCredentialsSecret/],
    ['upper-case project id', { ...REQUIRED, atlasProjectIds: '0123456789ABCDEF01234567' }, /Invalid item '0123456789ABCDEF01234567' in context value atlasProjectIds/],
    ['short account id', { ...REQUIRED, allowedAccountIds: '12345' }, /allowedAccountIds/],
    ['malformed VPC id', { ...REQUIRED, allowedVpcIds: 'vpc-xyz' }, /allowedVpcIds/],
    ['plain HTTP base URL', { ...REQUIRED, atlasBaseUrl: 'http://atlas.example.test' }, /atlasBaseUrl/],
    ['dry run yes', { ...REQUIRED, dryRun: 'yes' }, /dryRun='yes': expected true or false/],
    ['unknown log level', { ...REQUIRED, logLevel: 'VERBOSE' }, /logLevel='VERBOSE'/],
    ['unsupported retention', { ...REQUIRED, logRetentionDays: '10' }, /logRetentionDays='10'/],
    ['zero concurrency', { ...REQUIRED, reservedConcurrency: '0' }, /reservedConcurrency='0'/],
    ['cross-account role name', { ...REQUIRED, crossAccountRoleName: 'AtlasPrivateLinkReader' }, /Unsupported context value crossAccountRoleName/],
    ['wait budget above 840', { ...REQUIRED, waitBudgetSeconds: '841' }, /waitBudgetSeconds='841': expected an integer from 0 to 840/],
    ['negative wait budget', { ...REQUIRED, waitBudgetSeconds: '-1' }, /waitBudgetSeconds='-1'/],
    ['plural unit for 1', { ...REQUIRED, reconcileSchedule: 'rate(1 minutes)' }, /reconcileSchedule='rate\(1 minutes\)'/],
    ['singular unit for 15', { ...REQUIRED, reconcileSchedule: 'rate(15 minute)' }, /reconcileSchedule='rate\(15 minute\)'/],
    ['schedule without rate or cron', { ...REQUIRED, reconcileSchedule: 'every 15 minutes' }, /reconcileSchedule/],
    ['zero rate', { ...REQUIRED, reconcileSchedule: 'rate(0 minutes)' }, /reconcileSchedule/],
    ['upper-case reconcile region', { ...REQUIRED, reconcileRegions: 'US-WEST-2' }, /Invalid item 'US-WEST-2' in context value reconcileRegions/],
    ['zero mismatch age limit', { ...REQUIRED, mismatchAgeLimitMinutes: '0' }, /mismatchAgeLimitMinutes='0'/],
    ['mismatch age limit above a week', { ...REQUIRED, mismatchAgeLimitMinutes: '10081' }, /mismatchAgeLimitMinutes='10081'/],
    ['organization without prefix', { ...REQUIRED, forwarderOrganizationId: 'abcdefghij' }, /forwarderOrganizationId/],
  ];
  for (const [name, values, message] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(() => readLinkerSettings(reader(values)), message);
    });
  }
});

describe('buildStacks', () => {
  const log: string[] = [];
  const options = { manifestPath: MANIFEST_PATH, log: (message: string) => log.push(message) };

  function appWith(context: Record<string, unknown>): App {
    return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  }

  test('builds linker and forwarders', () => {
    const stacks = buildStacks(appWith({ ...REQUIRED, mainRegion: 'us-east-1', forwarderRegions: 'us-west-2,eu-west-1' }), options);
    assert.deepEqual(
      stacks.map((stack) => stack.stackName),
      ['AtlasPrivateLinkLinker', 'AtlasPrivateLinkForwarder-us-west-2', 'AtlasPrivateLinkForwarder-eu-west-1'],
    );
    assert.deepEqual(
      stacks.map((stack) => stack.region),
      ['us-east-1', 'us-west-2', 'eu-west-1'],
    );
  });

  test('builds forwarders alone', () => {
    log.length = 0;
    const stacks = buildStacks(appWith({ mainRegion: 'us-east-1', forwarderRegions: 'ap-southeast-2' }), options);
    assert.deepEqual(stacks.map((stack) => stack.stackName), ['AtlasPrivateLinkForwarder-ap-southeast-2']);
    assert.match(log.join('\n'), /AtlasPrivateLinkLinker is left out/);
  });

  test('uses the CLI region as main region', () => {
    const stacks = buildStacks(appWith({ ...REQUIRED }), { ...options, defaultRegion: 'eu-central-1' });
    assert.equal(stacks[0].region, 'eu-central-1');
  });

  test('rejects forwarders without main region', () => {
    assert.throws(() => buildStacks(appWith({ forwarderRegions: 'us-west-2' }), options), /Missing context value mainRegion/);
  });

  test('rejects a forwarder in the main region', () => {
    assert.throws(
      () => buildStacks(appWith({ mainRegion: 'us-east-1', forwarderRegions: 'us-east-1' }), options),
      /to the bus they come from/,
    );
  });

  test('rejects an empty context', () => {
    assert.throws(() => buildStacks(appWith({}), options), /No stack to synthesize/);
  });
});
