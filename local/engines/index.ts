// Local engines as real processes on 127.0.0.1, fetched or built on first use into the cache (see cache.ts).
// The rest of the project names the DynamoDB engine only through the neutral names below, so that
// switching engines is a change of launcher.
export { cacheRoot } from './cache.js';
export {
  DYNOXIDE_VERSION as DYNAMODB_ENGINE_VERSION,
  type DynoxideOptions as DynamoDbEngineOptions,
  installDynoxide as installDynamoDbEngine,
  startDynoxide as startDynamoDbEngine,
} from './dynoxide.js';
export { type ElasticMqOptions, installElasticMq, startElasticMq } from './elasticmq.js';
export { installOpenSearch, type OpenSearchOptions, startOpenSearch } from './opensearch.js';
export type { RunningEngine } from './process.js';
