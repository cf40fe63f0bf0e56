import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { ChatStack } from './chat-stack.js';
import { stageConfig, stageEnvironment } from './stage.js';

/** Builds the CDK app; the local runtime and the tests call this too, so one definition serves all. */
export function buildApp(app = new App()): { app: App; stack: ChatStack } {
  const stage = stageConfig(String(app.node.tryGetContext('stage') ?? 'dev'));
  const stack = new ChatStack(app, `Chat-${stage.name}`, { stage, env: stageEnvironment(app, stage) });
  return { app, stack };
}

/**
 * The context of cdk.json (feature flags, default stage). The CDK CLI passes it to `infra/main.ts`; the
 * in-process synthesis (local runtime, tests) reads it here, so both synthesize the very same template.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const file = new URL('../cdk.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}
