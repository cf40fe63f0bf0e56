import { Duration } from 'aws-cdk-lib';
import { Architecture, type CfnFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '#shared/metrics.js';
import type { StageConfig } from '../stage.js';

/** Metadata key naming a function's source entry; the local runtime loads that module directly. */
export const ENTRY_METADATA_KEY = 'chat:entry';

export interface ChatFunctionProps {
  /** Path below `functions/` without extension, e.g. `http/health`. */
  readonly entry: string;
  readonly stage: StageConfig;
  readonly environment: Record<string, string>;
  readonly memorySize?: number;
  readonly timeout?: Duration;
}

/** A Lambda function with the project's defaults set once: arm64, current Node.js, ESM bundle, log retention. */
export class ChatFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ChatFunctionProps) {
    const entry = `functions/${props.entry}.ts`;
    super(scope, id, {
      entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      // X-Ray: Lambda opens a segment per invocation; Powertools Tracer adds the SDK calls (shared/tracing.ts).
      tracing: Tracing.ACTIVE,
      timeout: props.timeout ?? Duration.seconds(10),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'chat',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        STAGE: props.stage.name,
        ...props.environment,
      },
      logGroup: new LogGroup(scope, `${id}Logs`, {
        retention: props.stage.logRetention,
        removalPolicy: props.stage.removalPolicy,
      }),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // CommonJS dependencies inside an ESM bundle still call require().
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    });
    (this.node.defaultChild as CfnFunction).addMetadata(ENTRY_METADATA_KEY, entry);
  }
}
