import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { LinkerFunction } from '../lib/linker-function';
import { LinkerStack } from '../lib/linker-stack';
import { appWithoutBundling, cargoCalls, MANIFEST_PATH, minimalSettings } from './helpers';

// The tests run in this file's own process, in order, against the stand-in cargo that helpers.ts
// puts on PATH. The stand-in fails every build, so a stack stops at its first function, and the
// last test builds the reconcile function on its own.
describe('RustFunction bundling', () => {
  test('skipped when bundling stacks is empty', () => {
    const stack = new LinkerStack(appWithoutBundling(), 'AtlasPrivateLinkLinker', {
      env: { region: 'us-east-1' },
      settings: minimalSettings(),
      manifestPath: MANIFEST_PATH,
    });
    Template.fromStack(stack);

    const builds = cargoCalls().filter((call) => call.startsWith('cargo lambda build'));
    assert.deepEqual(builds, []);
  });

  test('runs cargo lambda build otherwise', () => {
    assert.throws(
      () =>
        new LinkerStack(new App(), 'AtlasPrivateLinkLinker', {
          env: { region: 'us-east-1' },
          settings: minimalSettings(),
          manifestPath: MANIFEST_PATH,
        }),
      /Failed to bundle asset/,
    );

    const builds = cargoCalls().filter((call) => call.startsWith('cargo lambda build'));
    assert.equal(builds.length, 1);
    assert.match(builds[0], / --release /);
    assert.match(builds[0], / --arm64 /);
    assert.match(builds[0], / --bin linker-events /);
  });

  test('builds the linker-reconcile binary', () => {
    const stack = new Stack(new App(), 'ReconcileBundling', { env: { region: 'us-east-1' } });
    assert.throws(
      () =>
        new LinkerFunction(stack, 'LinkerReconcile', {
          binaryName: 'linker-reconcile',
          manifestPath: MANIFEST_PATH,
          description: 'bundling test',
          roleStatements: [],
          environment: {},
          timeout: Duration.seconds(300),
          reservedConcurrency: 1,
          logLevel: lambda.ApplicationLogLevel.INFO,
          logRetention: logs.RetentionDays.ONE_MONTH,
          retryAttempts: 0,
          maxEventAge: Duration.minutes(15),
        }),
      /Failed to bundle asset/,
    );

    const builds = cargoCalls().filter((call) => call.startsWith('cargo lambda build'));
    assert.equal(builds.length, 2);
    assert.match(builds[1], / --release /);
    assert.match(builds[1], / --arm64 /);
    assert.match(builds[1], / --bin linker-reconcile /);
  });
});
