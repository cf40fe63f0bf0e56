import { describe, expect, it } from 'vitest';
import { HOURS_PER_MONTH, OPENSEARCH_INSTANCE_HOUR, PRICES } from '#infra/prices.js';
import { synthTemplate } from '#infra/synth.js';
import { emptyUsage, idleFloor, priceUsage, scheduledTargets, total } from '../../bench/lib/cost-model.js';
import { PROD_PIN } from '../support/stages.js';

describe('cost model arithmetic', () => {
  it('prices usage per unit and scales it linearly, by hand from the prices file', () => {
    const usage = {
      ...emptyUsage(),
      writeRequestUnits: 2_000,
      readRequestUnits: 400,
      lambdaInvocations: 300,
      lambdaGbSeconds: 50,
      webSocketMessages: 1_100,
      sqsFifoRequests: 450,
      stateTransitions: 20,
      logBytes: 1024 ** 3 / 1000,
    };
    // 200 units measured, priced per million units: every quantity times 5,000.
    const lines = priceUsage(usage, 200, 1_000_000);
    const usd = (label: string) => lines.find((l) => l.label.startsWith(label))?.usd;
    expect(usd('DynamoDB write')).toBeCloseTo((10_000_000 * 0.625) / 1_000_000, 9);
    expect(usd('DynamoDB read')).toBeCloseTo((2_000_000 * 0.125) / 1_000_000, 9);
    expect(usd('Lambda invocations')).toBeCloseTo((1_500_000 * 0.2) / 1_000_000, 9);
    expect(usd('Lambda GB-seconds')).toBeCloseTo(250_000 * 0.0000133334, 9);
    expect(usd('API Gateway WebSocket')).toBeCloseTo(5.5, 9);
    expect(usd('SQS FIFO')).toBeCloseTo((2_250_000 * 0.5) / 1_000_000, 9);
    expect(usd('Step Functions')).toBeCloseTo((100_000 * 0.025) / 1_000, 9);
    expect(usd('CloudWatch Logs')).toBeCloseTo(5 * 0.5, 9);
    expect(usd('DynamoDB Streams')).toBe(0);
    expect(total(lines)).toBeCloseTo(6.25 + 0.25 + 0.3 + 3.33335 + 5.5 + 1.125 + 2.5 + 2.5, 6);
  });

  it('uses the published prices the file lists, each with its source page', () => {
    expect(PRICES.lambdaArmGbSecond.usd).toBe(0.0000133334);
    expect(PRICES.dynamodbWriteRequestUnit.usd).toBe(0.625);
    for (const price of [...Object.values(PRICES), ...Object.values(OPENSEARCH_INSTANCE_HOUR)]) {
      expect(price.source).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z-]+\/pricing\//);
    }
  });
});

describe('idle floor', () => {
  const dev = synthTemplate({ stage: 'dev' });
  const runs = new Map(
    scheduledTargets(dev).map((s) => [s.functionId, { ...emptyUsage(), lambdaInvocations: 1 }] as const),
  );

  it('reads the search domain, alarms and schedules from the template', () => {
    const lines = idleFloor(dev, runs);
    const domain = Object.values(dev.Resources).find((r) => r.Type === 'AWS::OpenSearchService::Domain');
    const cluster = domain?.Properties?.ClusterConfig as { InstanceType: string; InstanceCount: number };
    const instances = lines.find((l) => l.label.startsWith('OpenSearch') && l.unit === 'instance-hour');
    const hourly = OPENSEARCH_INSTANCE_HOUR[cluster.InstanceType]?.usd ?? Number.NaN;
    expect(instances?.usd).toBeCloseTo(cluster.InstanceCount * HOURS_PER_MONTH * hourly, 9);
    const alarms = Object.values(dev.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').length;
    expect(lines.find((l) => l.label === 'CloudWatch alarm metrics')?.quantity).toBeGreaterThanOrEqual(
      alarms,
    );
    // A rule every 5 minutes runs 8,760 times in a 730-hour month; each run here is one invocation.
    for (const s of scheduledTargets(dev)) {
      const line = lines.find((l) => l.label.startsWith(s.functionId));
      expect(line?.quantity).toBeCloseTo((HOURS_PER_MONTH * 60) / s.everyMinutes, 6);
      expect(line?.usd).toBeCloseTo((line?.quantity ?? 0) * (0.2 / 1_000_000), 12);
    }
  });

  it('follows the template: another instance type changes the figure, an unpriced one fails', () => {
    const changed = structuredClone(dev);
    const domain = Object.values(changed.Resources).find((r) => r.Type === 'AWS::OpenSearchService::Domain');
    const cluster = domain?.Properties?.ClusterConfig as { InstanceType: string; InstanceCount: number };
    cluster.InstanceType = 'm6g.large.search';
    cluster.InstanceCount = 3;
    const instances = idleFloor(changed, runs).find((l) => l.unit === 'instance-hour');
    expect(instances?.usd).toBeCloseTo(3 * HOURS_PER_MONTH * 0.128, 9);
    cluster.InstanceType = 'x9.huge.search';
    expect(() => idleFloor(changed, runs)).toThrow(/no price for OpenSearch instance type x9\.huge\.search/);
  });

  it('prices the prod stage from its own template (more and larger search nodes than dev)', () => {
    const prod = synthTemplate({ stage: 'prod', ...PROD_PIN });
    const cost = (t: typeof prod) =>
      idleFloor(t, runs)
        .filter((l) => l.label.startsWith('OpenSearch'))
        .reduce((n, l) => n + l.usd, 0);
    expect(cost(prod)).toBeGreaterThan(cost(dev));
  });
});
