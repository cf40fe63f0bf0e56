import { App } from 'aws-cdk-lib';
import { ChatStack } from './chat-stack.js';
import { stageConfig } from './stage.js';

/** Builds the CDK app; the local runtime and the tests call this too, so one definition serves all. */
export function buildApp(app = new App()): { app: App; stack: ChatStack } {
  const stage = stageConfig(String(app.node.tryGetContext('stage') ?? 'dev'));
  const stack = new ChatStack(app, `Chat-${stage.name}`, { stage });
  return { app, stack };
}
