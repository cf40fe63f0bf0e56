import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { ddb } from '../clients/dynamodb.js';
import { config } from '../config/env.js';

let store: DynamoDBPersistenceLayer | undefined;

/**
 * The idempotency aggregate's persistence: Powertools' DynamoDB persistence layer over the idempotency
 * table (it builds the record's key, conditions and commands itself; records are keyed by one user's
 * scope and expire after the replay window). One per container.
 */
export function idempotencyStore(): DynamoDBPersistenceLayer {
  store ??= new DynamoDBPersistenceLayer({ tableName: config().tables.idempotency, awsSdkV3Client: ddb });
  return store;
}
