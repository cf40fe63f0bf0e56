import { buildApp } from './app.js';

// Entry point for the CDK CLI (see cdk.json).
buildApp().app.synth();
