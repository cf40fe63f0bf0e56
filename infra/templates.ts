import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, cdkJsonContext } from './app.js';

/**
 * Writes the templates CloudFormation would receive for a stage (the top-level stack and each nested
 * stack, functions not bundled) into `dir`, one JSON file per stack; returns their paths. For checks
 * that read template files, such as cfn-lint.
 */
export function writeStageTemplates(dir: string, context: Record<string, unknown>): string[] {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const { stack } = buildApp(app);
  mkdirSync(dir, { recursive: true });
  const stacks: Stack[] = [stack, ...stack.node.children.filter((c): c is Stack => c instanceof Stack)];
  return stacks.map((s) => {
    const path = join(
      dir,
      `${s === stack ? stack.stackName : `${stack.stackName}-${s.node.id}`}.template.json`,
    );
    writeFileSync(path, JSON.stringify(Template.fromStack(s).toJSON(), null, 1));
    return path;
  });
}
