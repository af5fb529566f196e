import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildStacks } from '../lib/app-stacks';
import { ForwarderStack } from '../lib/forwarder-stack';
import { readLinkerReadRoleSettings, readLinkerSettings } from '../lib/settings';
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
    assert.equal(settings.crossAccountRoleName, undefined);
  });

  for (const name of ['atlas-linker-read', 'team/atlas-linker-read', 'a/b/Linker.Read+1@x_=,-', `${'p'.repeat(447)}/${'r'.repeat(64)}`]) {
    test(`accepts cross-account role ${name.slice(0, 40)}`, () => {
      assert.equal(readLinkerSettings(reader({ ...REQUIRED, crossAccountRoleName: name })).crossAccountRoleName, name);
    });
  }

  test('treats an empty cross-account role as unset', () => {
    assert.equal(readLinkerSettings(reader({ ...REQUIRED, crossAccountRoleName: ' ' })).crossAccountRoleName, undefined);
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
    ['cross-account role ARN', { ...REQUIRED, crossAccountRoleName: 'arn:aws:iam::111122223333:role/Reader' }, /Invalid context value crossAccountRoleName/],
    ['cross-account role with leading slash', { ...REQUIRED, crossAccountRoleName: '/team/Reader' }, /crossAccountRoleName='\/team\/Reader'/],
    ['cross-account role with trailing slash', { ...REQUIRED, crossAccountRoleName: 'team/' }, /crossAccountRoleName='team\/'/],
    ['cross-account role with empty segment', { ...REQUIRED, crossAccountRoleName: 'team//Reader' }, /crossAccountRoleName/],
    ['cross-account role with wildcard', { ...REQUIRED, crossAccountRoleName: 'Reader*' }, /crossAccountRoleName/],
    ['cross-account role name of 65 characters', { ...REQUIRED, crossAccountRoleName: 'r'.repeat(65) }, /crossAccountRoleName/],
    ['cross-account role of 513 characters', { ...REQUIRED, crossAccountRoleName: `${'p'.repeat(448)}/${'r'.repeat(64)}` }, /expected at most 512 characters, found 513/],
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

describe('readLinkerReadRoleSettings', () => {
  const ROLE_ARNS = {
    linkerEventsRoleArn: 'arn:aws:iam::111122223333:role/atlas-privatelink-linker-LinkerEventsRole-ABC',
    linkerReconcileRoleArn: 'arn:aws:iam::111122223333:role/atlas-privatelink-linker-LinkerReconcileRole-DEF',
  };

  test('returns undefined without a role name', () => {
    assert.equal(readLinkerReadRoleSettings(reader(ROLE_ARNS), 'us-east-1'), undefined);
  });

  test('applies defaults', () => {
    assert.deepEqual(readLinkerReadRoleSettings(reader({ ...ROLE_ARNS, linkerReadRoleName: 'atlas-linker-read' }), 'us-east-1'), {
      roleName: 'atlas-linker-read',
      path: '/',
      region: 'us-east-1',
      ...ROLE_ARNS,
    });
  });

  test('reads path and region', () => {
    const settings = readLinkerReadRoleSettings(
      reader({ ...ROLE_ARNS, linkerReadRoleName: 'atlas-linker-read', linkerReadRolePath: '/team/', linkerReadRoleRegion: 'eu-west-1' }),
      'us-east-1',
    );
    assert.equal(settings?.path, '/team/');
    assert.equal(settings?.region, 'eu-west-1');
  });

  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['name with a path', { ...ROLE_ARNS, linkerReadRoleName: 'team/atlas-linker-read' }, /Invalid context value linkerReadRoleName/],
    ['path without trailing slash', { ...ROLE_ARNS, linkerReadRoleName: 'r', linkerReadRolePath: '/team' }, /linkerReadRolePath='\/team'/],
    ['path without leading slash', { ...ROLE_ARNS, linkerReadRoleName: 'r', linkerReadRolePath: 'team/' }, /linkerReadRolePath='team\/'/],
    ['path of 450 characters', { ...ROLE_ARNS, linkerReadRoleName: 'r', linkerReadRolePath: `/${'p'.repeat(448)}/` }, /expected at most 449 characters/],
    ['missing events role', { linkerReconcileRoleArn: ROLE_ARNS.linkerReconcileRoleArn, linkerReadRoleName: 'r' }, /Missing context value linkerEventsRoleArn/],
    ['missing reconcile role', { linkerEventsRoleArn: ROLE_ARNS.linkerEventsRoleArn, linkerReadRoleName: 'r' }, /Missing context value linkerReconcileRoleArn/],
    ['user ARN as events role', { ...ROLE_ARNS, linkerEventsRoleArn: 'arn:aws:iam::111122223333:user/x', linkerReadRoleName: 'r' }, /linkerEventsRoleArn/],
    ['upper-case region', { ...ROLE_ARNS, linkerReadRoleName: 'r', linkerReadRoleRegion: 'US-EAST-1' }, /linkerReadRoleRegion='US-EAST-1'/],
  ];
  for (const [name, values, message] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(() => readLinkerReadRoleSettings(reader(values), 'us-east-1'), message);
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

  const READ_ROLE = {
    mainRegion: 'us-east-1',
    targetAccountId: '111122223333',
    linkerReadRoleName: 'atlas-linker-read',
    linkerEventsRoleArn: 'arn:aws:iam::111122223333:role/events',
    linkerReconcileRoleArn: 'arn:aws:iam::111122223333:role/reconcile',
  };

  test('creates the read role in the main region only', () => {
    const stacks = buildStacks(appWith({ ...READ_ROLE, forwarderRegions: 'us-west-2,us-east-1,eu-west-1' }), options);
    const withRole = stacks.filter((stack) => (stack as ForwarderStack).linkerReadRole !== undefined);
    assert.deepEqual(withRole.map((stack) => stack.region), ['us-east-1']);
  });

  test('creates the read role in the chosen region', () => {
    const stacks = buildStacks(
      appWith({ ...READ_ROLE, forwarderRegions: 'us-west-2,us-east-1', linkerReadRoleRegion: 'us-west-2' }),
      options,
    );
    const withRole = stacks.filter((stack) => (stack as ForwarderStack).linkerReadRole !== undefined);
    assert.deepEqual(withRole.map((stack) => stack.region), ['us-west-2']);
  });

  test('rejects a read role region without forwarder', () => {
    assert.throws(
      () => buildStacks(appWith({ ...READ_ROLE, forwarderRegions: 'us-west-2,eu-west-1' }), options),
      /No forwarder creates the read role: linkerReadRoleRegion \(by default mainRegion\) is us-east-1/,
    );
  });

  test('ignores read role settings without forwarders', () => {
    const stacks = buildStacks(appWith({ ...REQUIRED, ...READ_ROLE }), options);
    assert.deepEqual(stacks.map((stack) => stack.stackName), ['AtlasPrivateLinkLinker']);
  });

  test('rejects an empty context', () => {
    assert.throws(() => buildStacks(appWith({}), options), /No stack to synthesize/);
  });
});
