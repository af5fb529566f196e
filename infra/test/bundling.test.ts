import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LinkerStack } from '../lib/linker-stack';
import { appWithoutBundling, cargoCalls, MANIFEST_PATH, minimalSettings } from './helpers';

// Both tests run in this file's own process, against the stand-in cargo that helpers.ts puts on
// PATH. The second one shows that the stand-in would record a build if one were attempted.
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
});
