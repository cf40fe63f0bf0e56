import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp, cdkJsonContext } from '#infra/app.js';
import { NESTED_STACKS } from '#infra/chat-stack.js';
import { nestedTemplates } from '#infra/flatten.js';
import { synthTemplate } from '#infra/synth.js';
import { readSchedules } from '#local/schedules.js';
import { tableNames } from '#shared/config/table-names.js';
import { PROD_PIN } from '../support/stages.js';

describe('ChatStack', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromJSON(synthTemplate());
  });

  it('declares every table of the data model, on demand, with point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', tableNames.length);
    template.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('streams the tables that feed search with old and new images', () => {
    const streamed = template.findResources('AWS::DynamoDB::Table', {
      Properties: { StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' } },
    });
    const keys = Object.values(streamed).map((r) => r.Properties.KeySchema[0].AttributeName);
    expect(keys.sort()).toEqual(['conversationId', 'userId']);
  });

  it('expires connection and idempotency items with TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk' }, { AttributeName: 'sk' }].map((k) => Match.objectLike(k)),
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('keeps data on delete in prod and drops it in dev', () => {
    const prod = Template.fromJSON(synthTemplate({ stage: 'prod', ...PROD_PIN }));
    prod.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    prod.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
    template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('runs every function on arm64 with a current Node.js runtime and its source entry recorded', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThan(3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(Number(/nodejs(\d+)/.exec(fn.Properties.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
      expect(fn.Metadata['chat:entry']).toMatch(/^functions\/.+\.ts$/);
    }
  });

  it('routes WebSocket frames on the action field and answers ping two-way', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'ping',
      RouteResponseSelectionExpression: '$default',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$connect',
      AuthorizationType: 'CUSTOM',
    });
  });

  it('serves GET /health publicly and catches unknown routes', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /health',
      AuthorizationType: 'NONE',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
  });

  it('grants the health function read access only', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const health = Object.entries(policies).find(([id]) => id.startsWith('HttpHttpHealth'));
    expect(health).toBeDefined();
    const actions = JSON.stringify(health?.[1].Properties.PolicyDocument.Statement);
    expect(actions).toContain('dynamodb:GetItem');
    expect(actions).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/);
  });

  it('lets both authorizers read the users table, to refuse closed accounts', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    for (const prefix of ['HttpAuthorizerFn', 'WsAuthorizerFn']) {
      const policy = Object.entries(policies).find(([id]) => id.startsWith(prefix));
      expect(JSON.stringify(policy?.[1].Properties.PolicyDocument.Statement), prefix).toContain(
        'dynamodb:GetItem',
      );
    }
  });

  it('outputs the two API URLs', () => {
    template.hasOutput('HttpApiUrl', {});
    template.hasOutput('WebSocketUrl', {});
  });

  it('expires finished operations and indexes only unfinished ones (sparse index)', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'operationId', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'unfinished',
          KeySchema: [
            { AttributeName: 'unfinishedShard', KeyType: 'HASH' },
            { AttributeName: 'updatedAt', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [Match.objectLike({ AttributeName: 'job' })],
    });
  });

  it('sweeps ended WebSocket sessions every minute through a sparse index of connections, and runs the sweep locally', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk' }, { AttributeName: 'sk' }].map((k) => Match.objectLike(k)),
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'expiring',
          KeySchema: [
            { AttributeName: 'expiryShard', KeyType: 'HASH' },
            { AttributeName: 'expiresAt', KeyType: 'RANGE' },
          ],
        }),
      ],
    });
    const flat = synthTemplate();
    const sweeps = readSchedules(flat).filter((s) => s.everyMs === 60_000);
    expect(sweeps).toHaveLength(1);
    const fn = flat.Resources[sweeps[0]?.functionId as string];
    expect(JSON.stringify(fn?.Metadata ?? fn?.Properties)).toContain('session-sweeper');
  });

  it('traces every function, parks undeliverable schedules and failed fan-out batches in dead-letter queues', () => {
    template.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules.length).toBe(3);
    for (const rule of rules) {
      for (const target of rule.Properties.Targets) {
        expect(target.DeadLetterConfig?.Arn).toBeDefined();
        expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 });
      }
    }
    const fanout = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find((m) =>
      JSON.stringify(m.Properties.FilterCriteria ?? {}).includes('fanout'),
    );
    expect(fanout?.Properties.DestinationConfig?.OnFailure?.Destination).toBeDefined();
    const dashboard = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard')));
    for (const metric of [
      'SendsSequenced',
      'SendBatchSize',
      'RateLimited',
      'PushesDelivered',
      'GoneConnections',
      'IndexLag',
      'SagaOutcome',
    ]) {
      expect(dashboard, metric).toContain(metric);
    }
  });

  it('splits the backend into nested stacks, each far below the 500-resource limit', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const { stack } = buildApp(app);
    const nested = nestedTemplates(stack);
    expect([...nested.keys()].sort()).toEqual(Object.values(NESTED_STACKS).sort());
    let total = 0;
    for (const [id, t] of nested) {
      const count = Object.keys(t.Resources).length;
      total += count;
      expect(count, id).toBeLessThan(250);
    }
    // The flattened view the local runtime reads holds every resource of every nested stack.
    expect(Object.keys(template.toJSON().Resources).length).toBe(total);
  });
});
