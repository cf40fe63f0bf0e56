import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Embedded metric format: one JSON line per emit, with the values at the top level and their
// definitions under `_aws.CloudWatchMetrics` (namespace, dimensions, units).
describe('application metrics (EMF)', () => {
  const lines: string[] = [];
  beforeEach(() => {
    vi.resetModules();
    lines.length = 0;
    process.env.POWERTOOLS_METRICS_DISABLED = 'false';
    process.env.STAGE = 'test';
    // Outside Lambda's console (POWERTOOLS_DEV) the lines go through console.log.
    process.env.POWERTOOLS_DEV = 'true';
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
  });
  afterEach(() => {
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.STAGE;
    delete process.env.POWERTOOLS_DEV;
  });

  it('publishes the given values as one line in the Chat namespace, leaving zeros out', async () => {
    const { emitMetrics, METRICS_NAMESPACE } = await import('#shared/metrics.js');
    emitMetrics({ PushesDelivered: 3, GoneConnections: 1, PushesFailed: 0 });
    expect(lines).toHaveLength(1);
    const emf = JSON.parse(lines[0] as string);
    expect(emf.PushesDelivered).toBe(3);
    expect(emf.GoneConnections).toBe(1);
    expect(emf.PushesFailed).toBeUndefined();
    const [definition] = emf._aws.CloudWatchMetrics;
    expect(definition.Namespace).toBe(METRICS_NAMESPACE);
    expect(definition.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'stage']));
    expect(emf.stage).toBe('test');
    expect(definition.Metrics).toEqual(expect.arrayContaining([{ Name: 'PushesDelivered', Unit: 'Count' }]));
  });

  it('keeps extra dimensions to their own line and emits nothing for nothing', async () => {
    const { emitMetrics, emitSagaOutcome } = await import('#shared/metrics.js');
    emitMetrics({ RateLimited: 0 });
    expect(lines).toHaveLength(0);
    emitSagaOutcome('createGroup', 'compensated');
    emitMetrics({ SendsSequenced: 10, SendBatchSize: 10 });
    expect(lines).toHaveLength(2);
    const [saga, sends] = lines.map((l) => JSON.parse(l));
    expect(saga).toMatchObject({ saga: 'createGroup', outcome: 'compensated', SagaOutcome: 1 });
    expect(saga._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['saga', 'outcome']));
    // The next line does not inherit the saga's dimensions.
    expect(sends.saga).toBeUndefined();
    expect(sends._aws.CloudWatchMetrics[0].Dimensions[0]).not.toContain('saga');
  });
});
