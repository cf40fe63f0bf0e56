import { Duration } from 'aws-cdk-lib';
import { CorsHttpMethod, type CorsPreflightOptions } from 'aws-cdk-lib/aws-apigatewayv2';
import type { IConstruct } from 'constructs';
import type { StageConfig } from './stage.js';

/** Context key that replaces the stage's allowed origins: `-c corsOrigins=https://a.example,https://b.example`. */
export const CORS_ORIGINS_CONTEXT = 'corsOrigins';

/**
 * The HTTP API's CORS configuration: API Gateway answers preflights itself (no route, no authorizer) and
 * adds the headers to every answer for an allowed origin. The local front reads the same configuration
 * out of the template. Tokens travel in `Authorization`, not cookies, so credentials stay off.
 */
export function httpCors(scope: IConstruct, stage: StageConfig): CorsPreflightOptions {
  const override = scope.node.tryGetContext(CORS_ORIGINS_CONTEXT);
  const origins =
    override === undefined || override === ''
      ? [...stage.corsOrigins]
      : String(override)
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      throw new Error(`CORS origin "${origin}" must be scheme://host[:port]`);
  }
  return {
    allowOrigins: origins,
    allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PATCH, CorsHttpMethod.DELETE],
    allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
    exposeHeaders: ['retry-after'],
    maxAge: Duration.hours(1),
  };
}
