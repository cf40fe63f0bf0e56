import { buildApp } from './app.js';
import { applyNagChecks } from './nag.js';

// Entry point for the CDK CLI (see cdk.json). cdk-nag's AwsSolutions pack checks the synthesized stack:
// `cdk synth` and `cdk deploy` fail on any finding that infra/nag.ts does not acknowledge.
const { app, stack } = buildApp();
applyNagChecks(app, stack);
app.synth();
