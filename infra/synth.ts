import { App } from 'aws-cdk-lib';
import { buildApp, cdkJsonContext } from './app.js';
import { flattenStack } from './flatten.js';

/** A CloudFormation template as plain JSON. */
export type CfnTemplate = { Resources: Record<string, CfnResource>; Outputs?: Record<string, unknown> };
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/**
 * Synthesizes the stack in-process, flattened with its nested stacks into one template (infra/flatten.ts), without bundling functions (the local runtime and the tests load
 * the TypeScript sources directly), so every consumer reads the very template that deploys.
 */
export function synthTemplate(context: Record<string, unknown> = {}): CfnTemplate {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const { stack } = buildApp(app);
  return flattenStack(stack);
}
