// Local engines as real processes on 127.0.0.1, fetched on first use into the cache (see cache.ts).
export { cacheRoot } from './cache.js';
export { type DynamoDbLocalOptions, installDynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.js';
export { type ElasticMqOptions, installElasticMq, startElasticMq } from './elasticmq.js';
export { freePort } from './free-port.js';
export { installOpenSearch, type OpenSearchOptions, startOpenSearch } from './opensearch.js';
export type { RunningEngine } from './process.js';
