import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildStacks } from '../lib/app-stacks';

// `cdk synth -c skipBundling=true` writes the templates without running `cargo lambda build`.
// The CLI sets aws:cdk:bundling-stacks in the app's context itself, so the override has to happen
// here, before any stack exists.
const app = new App();
const skipBundling = app.node.tryGetContext('skipBundling');
if (skipBundling === true || skipBundling === 'true') {
  app.node.setContext('aws:cdk:bundling-stacks', []);
}

buildStacks(app, {
  manifestPath: path.resolve(__dirname, '..', '..', 'Cargo.toml'),
  account: process.env.CDK_DEFAULT_ACCOUNT,
  defaultRegion: process.env.CDK_DEFAULT_REGION,
  log: (message) => process.stderr.write(`${message}\n`),
});
