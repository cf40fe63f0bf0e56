import type { CfnTemplate } from '#infra/synth.js';
import type { LocalLambdas } from './lambdas.js';

/** A scheduled rule of the template: which function, how often. */
export interface LocalSchedule {
  readonly ruleId: string;
  readonly functionId: string;
  readonly everyMs: number;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Reads `AWS::Events::Rule` resources with `rate(...)` schedules that target template functions. */
export function readSchedules(template: CfnTemplate): LocalSchedule[] {
  const out: LocalSchedule[] = [];
  for (const [ruleId, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Events::Rule') continue;
    const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(String(r.Properties?.ScheduleExpression ?? ''));
    if (!m) continue;
    const targets =
      (r.Properties?.Targets as Array<{ Arn?: { 'Fn::GetAtt'?: [string, string] } }> | undefined) ?? [];
    for (const target of targets) {
      const functionId = target.Arn?.['Fn::GetAtt']?.[0];
      if (functionId)
        out.push({ ruleId, functionId, everyMs: Number(m[1]) * (UNIT_MS[m[2] as string] ?? 60_000) });
    }
  }
  return out;
}

/**
 * Invokes scheduled functions at their rate, as EventBridge would (first run one period after start).
 * A run still going when the next is due is not started twice.
 */
export function startSchedules(
  schedules: readonly LocalSchedule[],
  lambdas: LocalLambdas,
): () => Promise<void> {
  const running = new Set<Promise<unknown>>();
  const timers = schedules.map((s) => {
    let busy = false;
    return setInterval(() => {
      if (busy) return;
      busy = true;
      const event = {
        'detail-type': 'Scheduled Event',
        source: 'aws.events',
        resources: [s.ruleId],
        detail: {},
      };
      const run = lambdas
        .invoke(s.functionId, event)
        .catch((err) => console.error(`schedule ${s.ruleId}:`, err))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    }, s.everyMs);
  });
  return async () => {
    for (const t of timers) clearInterval(t);
    await Promise.allSettled([...running]);
  };
}
