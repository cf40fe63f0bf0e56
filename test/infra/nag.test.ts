import { App, type PolicyValidationPluginReport, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '#infra/app.js';
import { applyNagChecks } from '#infra/nag.js';
import { PROD_PIN } from '../support/stages.js';

/** One finding: a rule (with its finding id, e.g. `AwsSolutions-IAM5[Resource::*]`) at a construct. */
interface Finding {
  rule: string;
  severity: string;
  path: string;
}

const findings = (report: PolicyValidationPluginReport): Finding[] =>
  report.violations.flatMap((v) =>
    v.violatingResources.map((r) => ({
      rule: v.ruleName,
      severity: v.severity ?? 'error',
      path: r.constructPath ?? r.resourceLogicalId ?? '?',
    })),
  );

/** Synthesizes a stage the way `infra/main.ts` does for `cdk synth` (without bundling the functions). */
function synthesize(stage: string, checked: boolean): { app: App; error?: unknown } {
  const app = new App({
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], stage, ...PROD_PIN },
  });
  const { stack } = buildApp(app);
  if (checked) applyNagChecks(app, stack);
  try {
    app.synth(); // with the checks registered, throws the validation report on any open finding
    return { app };
  } catch (error) {
    return { app, error };
  }
}

describe.each(['dev', 'prod'])('cdk-nag AwsSolutions checks, %s stage', (stage) => {
  let checked: { app: App; error?: unknown };
  let unacknowledged: Finding[];
  beforeAll(() => {
    checked = synthesize(stage, true);
    // The same stack without acknowledgements: what the pack reports before anything is accepted.
    unacknowledged = findings(new AwsSolutionsChecks().validateScope(synthesize(stage, false).app));
  });

  it('leaves no finding, error or warning, that is neither fixed nor acknowledged', () => {
    const open = findings(new AwsSolutionsChecks().validateScope(checked.app));
    expect(open).toEqual([]);
    expect(checked.error).toBeUndefined();
  });

  it('acknowledges only findings that occur, each with a written reason', () => {
    const acknowledged: Array<{ path: string; rule: string; reason: string }> = [];
    for (const construct of checked.app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push({ path: construct.node.path, rule: id.replace(/^annotation::/i, ''), reason });
        }
      }
    }
    expect(acknowledged.length).toBeGreaterThan(10);
    const stale = acknowledged.filter(
      (a) =>
        !unacknowledged.some(
          (f) => f.rule === a.rule && (f.path === a.path || f.path.startsWith(`${a.path}/`)),
        ),
    );
    expect(stale.map((a) => `${a.path}: ${a.rule}`)).toEqual([]);
    for (const a of acknowledged) expect(a.reason.length, `${a.path}: ${a.rule}`).toBeGreaterThan(60);
  });

  it('runs the pack on the real stack (it reports findings when nothing is acknowledged)', () => {
    const rules = new Set(unacknowledged.map((f) => f.rule));
    expect(rules).toContain('AwsSolutions-OS1');
    expect(rules).toContain('AwsSolutions-SMG4');
  });
});
