import { describe, expect, it } from 'vitest';
import { LOCAL_WEB_ORIGINS } from '#infra/stage.js';
import { type CfnTemplate, synthTemplate } from '#infra/synth.js';
import { PROD_PIN } from '../support/stages.js';

/** The HTTP API's CorsConfiguration in a synthesized template. */
const corsOf = (template: CfnTemplate) => {
  const apis = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties?.ProtocolType === 'HTTP',
  );
  expect(apis).toHaveLength(1);
  return apis[0]?.Properties?.CorsConfiguration as Record<string, unknown>;
};

describe('CORS on the HTTP API', () => {
  it('dev allows the local web client; prod allows no origin unless configured', () => {
    const dev = corsOf(synthTemplate({ stage: 'dev' }));
    expect(dev.AllowOrigins).toEqual([...LOCAL_WEB_ORIGINS]);
    expect(dev.AllowHeaders).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']),
    );
    expect(dev.AllowMethods).toEqual(expect.arrayContaining(['GET', 'POST', 'PATCH', 'DELETE']));
    expect(dev.ExposeHeaders).toEqual(['retry-after']);
    expect(dev.AllowCredentials).toBeUndefined();
    expect(corsOf(synthTemplate({ stage: 'prod', ...PROD_PIN })).AllowOrigins).toEqual([]);
  });

  it('takes the origins of a deployment from context, and refuses a malformed one', () => {
    const prod = corsOf(
      synthTemplate({
        stage: 'prod',
        ...PROD_PIN,
        corsOrigins: 'https://chat.example.com, https://m.example.com',
      }),
    );
    expect(prod.AllowOrigins).toEqual(['https://chat.example.com', 'https://m.example.com']);
    expect(() => synthTemplate({ stage: 'prod', ...PROD_PIN, corsOrigins: 'chat.example.com/path' })).toThrow(
      /CORS origin/,
    );
  });
});
