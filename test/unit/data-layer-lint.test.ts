import { expect, test } from 'vitest';
import { checkSource } from '../../tools/check-data-layer.js';

const planted = [
  "import { GetCommand, type PutCommand } from '@aws-sdk/lib-dynamodb';",
  "import { CreateTableCommand } from '@aws-sdk/client-dynamodb';",
  "const q = { TableName: 't', KeyConditionExpression: 'pk = :p' };",
].join('\n');

test('refuses item commands and expressions outside shared/data', () => {
  expect(checkSource('shared/domain/example.ts', planted)).toEqual([
    'shared/domain/example.ts:1: GetCommand outside shared/data: call a persistence module in shared/data instead',
    'shared/domain/example.ts:2: CreateTableCommand outside shared/data: call a persistence module in shared/data instead',
    'shared/domain/example.ts:3: KeyConditionExpression outside shared/data: DynamoDB expressions belong to shared/data',
  ]);
});

test('allows table control-plane commands in the local runtime, but not item commands', () => {
  expect(checkSource('local/tables.ts', planted)).toHaveLength(2);
});

test('allows everything under shared/data, test and bench', () => {
  for (const path of [
    'shared/data/users-repo.ts',
    'test/support/tables.ts',
    'bench/lib/bare-transactions.ts',
  ]) {
    expect(checkSource(path, planted)).toEqual([]);
  }
});

test('refuses an upward import between the layers of shared/, relative or through the alias', () => {
  const upward = [
    "import { sendMessage } from '../domain/messages.js';",
    "import { startSaga } from '#shared/sagas/start.js';",
    "export { x } from '../ws/handler.js';",
    "import { getUser } from './users-repo.js';",
    "import { config } from '../config/env.js';",
  ].join('\n');
  expect(checkSource('shared/data/example.ts', upward)).toEqual([
    'shared/data/example.ts:1: shared/data imports shared/domain: a lower layer must not depend on a higher one',
    'shared/data/example.ts:2: shared/data imports shared/sagas: a lower layer must not depend on a higher one',
    'shared/data/example.ts:3: shared/data imports shared/ws: a lower layer must not depend on a higher one',
  ]);
  expect(checkSource('shared/domain/example.ts', "import { h } from '../http/handler.js';")).toHaveLength(1);
  expect(checkSource('shared/domain/example.ts', "import { getUser } from '../data/users-repo.js';")).toEqual(
    [],
  );
});
