import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageConfig } from '#infra/stage.js';
import { type CfnTemplate, synthTemplate } from '#infra/synth.js';
import { PROD_PIN } from '../support/stages.js';

const idsOf = (t: Template, type: string) => Object.keys(t.findResources(type));

/** Lambda function environments by logical id. */
const environments = (t: Template) =>
  Object.values(t.findResources('AWS::Lambda::Function')).map(
    (fn) => fn.Properties.Environment.Variables as Record<string, unknown>,
  );

describe('deployment stages', () => {
  const templates: Record<string, Template> = {};
  let custom: CfnTemplate;
  beforeAll(() => {
    for (const stage of ['dev', 'prod']) {
      templates[stage] = Template.fromJSON(synthTemplate({ stage, ...PROD_PIN }));
    }
    // Context a deployment may add: the alarm e-mail, WebSocket access logs, a LocalStack target.
    custom = synthTemplate({
      stage: 'dev',
      alarmEmail: 'ops@example.com',
      wsAccessLogs: 'false',
      wsCallbackUrl: 'http://localhost.localstack.cloud:4566',
      wsUrl: '{wsApiEndpoint}/{stage}',
      searchEndpoint: 'http://{domainEndpoint}',
      searchSigning: 'none',
    });
  });
  const dev = () => templates.dev as Template;
  const prod = () => templates.prod as Template;

  it('synthesizes dev and prod as separate stacks and refuses an unknown stage', () => {
    expect(idsOf(dev(), 'AWS::DynamoDB::Table').length).toBeGreaterThan(0);
    expect(idsOf(prod(), 'AWS::DynamoDB::Table')).toEqual(idsOf(dev(), 'AWS::DynamoDB::Table'));
    expect(() => synthTemplate({ stage: 'staging' })).toThrow(/Unknown stage "staging"/);
  });

  it('pins prod to the account and region given by context, and leaves dev environment-agnostic', () => {
    expect(() => synthTemplate({ stage: 'prod' })).toThrow(/Stage prod is pinned/);
    expect(() => synthTemplate({ stage: 'prod', ...PROD_PIN, prodAccount: '1234' })).toThrow(/pinned/);
    const dashboard = (t: Template) =>
      JSON.stringify(Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties);
    expect(dashboard(prod())).toContain(PROD_PIN.prodRegion);
    expect(dashboard(dev())).toContain('AWS::Region');
  });

  it('retains data in prod and turns on deletion protection wherever AWS offers it', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::OpenSearchService::Domain',
      'AWS::SecretsManager::Secret',
      'AWS::Logs::LogGroup',
    ]) {
      expect(idsOf(prod(), type).length, type).toBeGreaterThan(0);
      prod().allResources(type, { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      dev().allResources(type, { DeletionPolicy: 'Delete' });
    }
    prod().allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    prod().allResourcesProperties('AWS::Logs::LogGroup', { DeletionProtectionEnabled: true });
    dev().allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: false });
    expect(JSON.stringify(dev().findResources('AWS::Logs::LogGroup'))).not.toContain(
      'DeletionProtectionEnabled',
    );
  });

  it('keeps every log group for the stage’s retention, and every function logs to one of them', () => {
    for (const [name, template] of Object.entries(templates)) {
      const days = Number(stageConfig(name).logRetention);
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: days });
      const logGroups = new Set(idsOf(template, 'AWS::Logs::LogGroup'));
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        expect(logGroups.has(fn.Properties.LoggingConfig?.LogGroup?.Ref)).toBe(true);
      }
    }
    expect(stageConfig('dev').logRetention).toBe(7);
    expect(stageConfig('prod').logRetention).toBe(90);
  });

  it('throttles the HTTP API’s default stage and the WebSocket stage with the stage’s limits', () => {
    for (const [name, template] of Object.entries(templates)) {
      const { rateLimit, burstLimit } = stageConfig(name).throttle;
      const limits = { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit };
      template.resourceCountIs('AWS::ApiGatewayV2::Stage', 2);
      template.allResourcesProperties('AWS::ApiGatewayV2::Stage', {
        DefaultRouteSettings: Match.objectLike(limits),
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: '$default', AutoDeploy: true });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: name });
    }
  });

  it('writes the HTTP API’s and the WebSocket stage’s access logs, the latter unless turned off', () => {
    for (const [name, template] of Object.entries(templates)) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: name,
        AccessLogSettings: {
          DestinationArn: Match.anyValue(),
          Format: Match.stringLikeRegexp('connectionId'),
        },
      });
    }
    Template.fromJSON(custom).hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'dev',
      AccessLogSettings: Match.absent(),
    });
  });

  it('keeps the token signing key in Secrets Manager, generated at deploy time', () => {
    dev().hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const secretId = idsOf(dev(), 'AWS::SecretsManager::Secret')[0];
    for (const env of environments(dev())) expect(env.TOKEN_SECRET_ARN).toEqual({ Ref: secretId });
  });

  describe.each(['dev', 'prod'])('alarms (%s)', (name) => {
    const template = () => templates[name] as Template;
    const alarms = () =>
      Object.values(template().findResources('AWS::CloudWatch::Alarm')).map((a) =>
        JSON.stringify(a.Properties),
      );

    it('notify the alarm topic, which CloudWatch may publish to over TLS only', () => {
      const [topicId] = idsOf(template(), 'AWS::SNS::Topic');
      template().allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: topicId }] });
      template().hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          ]),
        },
      });
      template().hasOutput('AlarmTopicArn', {});
    });

    it('cover any message in the dead-letter queue', () => {
      const [queueId] = idsOf(template(), 'AWS::SQS::Queue');
      template().hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    });

    it('cover errors and throttles of every function', () => {
      const functions = idsOf(template(), 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(30);
      for (const fn of functions) {
        const ref = JSON.stringify({ Name: 'FunctionName', Value: { Ref: fn } });
        const alarm = alarms().find((a) => a.includes(ref));
        expect(alarm, fn).toBeDefined();
        expect(alarm).toContain('"MetricName":"Errors"');
        expect(alarm).toContain('"MetricName":"Throttles"');
      }
    });

    it('cover the HTTP API’s 5xx rate and failed executions of each state machine', () => {
      const [httpApi] = Object.entries(template().findResources('AWS::ApiGatewayV2::Api')).find(
        ([, api]) => api.Properties.ProtocolType === 'HTTP',
      ) as [string, unknown];
      const http = alarms().find((a) => a.includes('"MetricName":"5xx"'));
      expect(http).toContain(JSON.stringify({ Name: 'ApiId', Value: { Ref: httpApi } }));
      expect(http).toContain('"MetricName":"Count"');
      for (const machine of idsOf(template(), 'AWS::StepFunctions::StateMachine')) {
        const failed = alarms().find(
          (a) =>
            a.includes('"MetricName":"ExecutionsFailed"') && a.includes(JSON.stringify({ Ref: machine })),
        );
        expect(failed, machine).toBeDefined();
      }
      template().resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });
  });

  it('subscribes the alarm e-mail given with -c alarmEmail', () => {
    Template.fromJSON(custom).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    dev().resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('points functions and the WebSocket URL output at another target only through context', () => {
    const [wsApi] = Object.entries(dev().findResources('AWS::ApiGatewayV2::Api')).find(
      ([, api]) => api.Properties.ProtocolType === 'WEBSOCKET',
    ) as [string, unknown];
    const [domain] = idsOf(dev(), 'AWS::OpenSearchService::Domain');
    // AWS: the stage's callback URL, the domain over HTTPS with SigV4.
    // Only the functions that push get the callback URL, only those that search or index the endpoint.
    const pushing = environments(dev()).filter((env) => env.WS_CALLBACK_URL !== undefined);
    const searching = environments(dev()).filter((env) => env.SEARCH_ENDPOINT !== undefined);
    expect(pushing.length).toBeGreaterThan(5);
    expect(searching.length).toBeGreaterThan(3);
    for (const env of pushing) {
      expect(JSON.stringify(env.WS_CALLBACK_URL)).toContain('.execute-api.');
      expect(JSON.stringify(env.WS_CALLBACK_URL)).toContain('/dev');
    }
    for (const env of searching) {
      expect(env.SEARCH_SIGNING).toBe('aws');
      expect(JSON.stringify(env.SEARCH_ENDPOINT)).toContain('https://');
    }
    // Overridden (LocalStack): literal or placeholder-filled values.
    const overridden = Template.fromJSON(custom);
    for (const env of environments(overridden)) {
      if (env.WS_CALLBACK_URL !== undefined) {
        expect(env.WS_CALLBACK_URL).toBe('http://localhost.localstack.cloud:4566');
      }
      if (env.SEARCH_ENDPOINT === undefined) continue;
      expect(env.SEARCH_SIGNING).toBe('none');
      expect(env.SEARCH_ENDPOINT).toEqual({
        'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [domain, 'DomainEndpoint'] }]],
      });
    }
    overridden.hasOutput('WebSocketUrl', {
      Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [wsApi, 'ApiEndpoint'] }, '/dev']] },
    });
    expect(() => synthTemplate({ stage: 'dev', wsUrl: 'ws://{nope}' })).toThrow(
      /unknown placeholder \{nope\}/,
    );
    expect(() => synthTemplate({ stage: 'dev', searchSigning: 'basic' })).toThrow(/searchSigning/);
  });
});
