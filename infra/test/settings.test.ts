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
    assert.equal(settings.crossAccountRoleName, undefined);
  });

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
    ['role name with slash', { ...REQUIRED, crossAccountRoleName: 'path/role' }, /crossAccountRoleName/],
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
