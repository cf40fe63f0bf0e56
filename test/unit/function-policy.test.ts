import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from '#infra/synth.js';
import { accessDenied, dynamodbAccess, sfnAccess, sqsAccess } from '#local/access-checks.js';
import { localFunctionEnvironment } from '#local/environment.js';
import { isAllowed, localTableArn, readFunctionPolicies } from '#local/function-policy.js';
import { cachedTemplate } from '#local/template-cache.js';
import { readTopology } from '#local/topology.js';

const rootDir = new URL('../..', import.meta.url).pathname;
const arnOf = (id: string, attr?: string) => (attr === 'Arn' ? localTableArn(id) : undefined);

/** A function with CDK's shapes: a role, a default policy with a table grant and its indexes. */
const template = {
  Resources: {
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } },
    },
    FnRole: { Type: 'AWS::IAM::Role', Properties: {} },
    FnPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'FnRole' }],
        PolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: ['xray:PutTraceSegments'], Resource: '*' },
            {
              Effect: 'Allow',
              Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
              Resource: [
                { 'Fn::GetAtt': ['Users', 'Arn'] },
                { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Users', 'Arn'] }, '/index/*']] },
              ],
            },
            {
              Effect: 'Allow',
              Action: 'dynamodb:UpdateItem',
              Resource: { 'Fn::GetAtt': ['Counters', 'Arn'] },
            },
            { Effect: 'Deny', Action: 'dynamodb:PutItem', Resource: { 'Fn::GetAtt': ['Users', 'Arn'] } },
            // Not resolvable locally: grants nothing rather than everything.
            { Effect: 'Allow', Action: 'dynamodb:*', Resource: { 'Fn::GetAtt': ['Domain', 'DomainArn'] } },
          ],
        },
      },
    },
    OtherPolicy: {
      Type: 'AWS::IAM::Policy',
      Properties: {
        Roles: [{ Ref: 'OtherRole' }],
        PolicyDocument: {
          Statement: [{ Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' }],
        },
      },
    },
  },
} as unknown as CfnTemplate;

describe('function policies', () => {
  const policy = readFunctionPolicies(template, ['Fn'], arnOf).get('Fn');

  it('reads only the statements attached to the function role, with resources as local ARNs', () => {
    expect(policy?.roleName).toBe('FnRole');
    expect(policy?.statements).toHaveLength(5);
    expect(policy?.statements[1]?.resources).toEqual([
      localTableArn('Users'),
      `${localTableArn('Users')}/index/*`,
    ]);
    expect(policy?.statements[4]?.resources).toEqual([]);
  });

  it('allows what a statement grants, on that table and its indexes only', () => {
    const s = policy?.statements ?? [];
    expect(isAllowed(s, 'dynamodb:GetItem', localTableArn('Users'))).toBe(true);
    expect(isAllowed(s, 'DynamoDB:getitem', localTableArn('Users'))).toBe(true); // actions ignore case
    expect(isAllowed(s, 'dynamodb:Query', localTableArn('Users', 'byName'))).toBe(true);
    expect(isAllowed(s, 'dynamodb:GetItem', localTableArn('Counters'))).toBe(false);
    expect(isAllowed(s, 'dynamodb:UpdateItem', localTableArn('Users'))).toBe(false);
    expect(isAllowed(s, 'dynamodb:UpdateItem', localTableArn('Counters'))).toBe(true);
    expect(isAllowed(s, 'dynamodb:GetItem', localTableArn('UsersArchive'))).toBe(false);
    // An explicit Deny wins over an Allow.
    expect(isAllowed(s, 'dynamodb:PutItem', localTableArn('Users'))).toBe(false);
  });

  it('reads the grants CDK writes for the stack: GET /me reads users and writes none', async () => {
    const real = await cachedTemplate(rootDir);
    const topology = readTopology(real);
    const meGet = [...topology.functions.values()].find((f) => f.entry === 'functions/http/me-get.ts');
    const users = Object.keys(real.Resources).find((id) => id.startsWith('TablesUsers'));
    if (!meGet || !users) throw new Error('GET /me or the users table is missing from the template');
    const s = readFunctionPolicies(real, [meGet.logicalId], arnOf).get(meGet.logicalId)?.statements ?? [];
    expect(isAllowed(s, 'dynamodb:GetItem', localTableArn(users))).toBe(true);
    expect(isAllowed(s, 'dynamodb:PutItem', localTableArn(users))).toBe(false);
  });
});

describe('the authorizations a request needs', () => {
  it('names the table, or the index of a query', () => {
    expect(dynamodbAccess('GetItem', { TableName: 'Users', Key: {} })).toEqual([
      { action: 'dynamodb:GetItem', resource: localTableArn('Users') },
    ]);
    expect(dynamodbAccess('Query', { TableName: 'Users', IndexName: 'byName' })).toEqual([
      { action: 'dynamodb:Query', resource: localTableArn('Users', 'byName') },
    ]);
  });

  it("checks each item of a transaction with that item's own action", () => {
    const pairs = dynamodbAccess('TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'Messages', Item: {} } },
        { Update: { TableName: 'Conversations', Key: {} } },
        { ConditionCheck: { TableName: 'Members', Key: {} } },
        { Delete: { TableName: 'Guards', Key: {} } },
      ],
    });
    expect(pairs).toEqual([
      { action: 'dynamodb:PutItem', resource: localTableArn('Messages') },
      { action: 'dynamodb:UpdateItem', resource: localTableArn('Conversations') },
      { action: 'dynamodb:ConditionCheckItem', resource: localTableArn('Members') },
      { action: 'dynamodb:DeleteItem', resource: localTableArn('Guards') },
    ]);
    expect(dynamodbAccess('TransactGetItems', { TransactItems: [{ Get: { TableName: 'Users' } }] })).toEqual([
      { action: 'dynamodb:GetItem', resource: localTableArn('Users') },
    ]);
  });

  it('checks a batch on every table it names', () => {
    expect(dynamodbAccess('BatchGetItem', { RequestItems: { Users: {}, Blocks: {} } })).toEqual([
      { action: 'dynamodb:BatchGetItem', resource: localTableArn('Users') },
      { action: 'dynamodb:BatchGetItem', resource: localTableArn('Blocks') },
    ]);
    expect(dynamodbAccess('BatchWriteItem', { RequestItems: { Users: [] } })).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: localTableArn('Users') },
    ]);
  });

  it('checks SQS sends on the queue ARN and Step Functions starts on the machine', () => {
    const arns = new Map([['http://q/1/Send', 'arn:aws:sqs:us-east-1:000000000000:Send']]);
    expect(sqsAccess('SendMessage', { QueueUrl: 'http://q/1/Send' }, (u) => arns.get(u))).toEqual([
      { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:000000000000:Send' },
    ]);
    expect(sqsAccess('ReceiveMessage', { QueueUrl: 'http://q/1/Send' }, (u) => arns.get(u))).toEqual([]);
    expect(sfnAccess('StartExecution', { stateMachineArn: 'arn:m' })).toEqual([
      { action: 'states:StartExecution', resource: 'arn:m' },
    ]);
  });

  it('refuses as AWS does, naming the role, the function, the action and the resource', () => {
    const err = accessDenied({ roleName: 'FnRole', statements: [] }, 'Fn', {
      action: 'dynamodb:GetItem',
      resource: localTableArn('Users'),
    }) as Error & { $metadata: { httpStatusCode: number } };
    expect(err.name).toBe('AccessDeniedException');
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/FnRole/Fn is not authorized to perform: dynamodb:GetItem ` +
        `on resource: ${localTableArn('Users')} because no identity-based policy allows the dynamodb:GetItem action`,
    );
  });
});

describe('a function environment', () => {
  it('holds only the variables its template gives it, replaced locally where only AWS has the value', async () => {
    const topology = readTopology(await cachedTemplate(rootDir));
    const byEntry = (entry: string) => {
      const fn = [...topology.functions.values()].find((f) => f.entry === entry);
      if (!fn) throw new Error(`${entry} is not in the template`);
      return fn.logicalId;
    };
    const overrides = {
      platform: { AWS_REGION: 'us-east-1' },
      replacements: {
        SEARCH_ENDPOINT: { SEARCH_ENDPOINT: 'http://127.0.0.1:1' },
        TOKEN_SECRET_ARN: { TOKEN_SECRET: 's' },
      },
    };
    const search = localFunctionEnvironment(topology, byEntry('functions/http/users-search.ts'), overrides);
    const meGet = localFunctionEnvironment(topology, byEntry('functions/http/me-get.ts'), overrides);
    expect(search.SEARCH_ENDPOINT).toBe('http://127.0.0.1:1');
    expect(meGet).not.toHaveProperty('SEARCH_ENDPOINT');
    expect(meGet.TOKEN_SECRET).toBe('s');
    expect(meGet.AWS_REGION).toBe('us-east-1');
    expect(meGet.AWS_LAMBDA_FUNCTION_NAME).toBe(byEntry('functions/http/me-get.ts'));
    expect(meGet.USERS_TABLE).toMatch(/^TablesUsers/);
  });
});
