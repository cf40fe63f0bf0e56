import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Settings that differ between deployment stages, chosen with `-c stage=dev|prod`. */
export interface StageConfig {
  readonly name: string;
  /** What happens to data-bearing resources when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: RetentionDays;
  /** Steady-state and burst request limits per API stage. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly search: { readonly dataNodes: number; readonly instanceType: string; readonly volumeGb: number };
}

const stages: Record<string, StageConfig> = {
  dev: {
    name: 'dev',
    removalPolicy: RemovalPolicy.DESTROY,
    deletionProtection: false,
    logRetention: RetentionDays.ONE_WEEK,
    throttle: { rateLimit: 200, burstLimit: 400 },
    search: { dataNodes: 1, instanceType: 't3.small.search', volumeGb: 10 },
  },
  prod: {
    name: 'prod',
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
    logRetention: RetentionDays.THREE_MONTHS,
    throttle: { rateLimit: 2000, burstLimit: 4000 },
    search: { dataNodes: 2, instanceType: 'm6g.large.search', volumeGb: 50 },
  },
};

/** Returns the stage settings for a name, failing fast on an unknown stage. */
export function stageConfig(name: string): StageConfig {
  const stage = stages[name];
  if (!stage) throw new Error(`Unknown stage "${name}"; expected one of ${Object.keys(stages).join(', ')}`);
  return stage;
}
