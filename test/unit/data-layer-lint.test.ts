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
