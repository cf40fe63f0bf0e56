// Versions of the Maven-resolved engines come from pom.xml so that a version bump is a one-line change
// in one place. The DynamoDB engine is built with cargo and pins its version in its launcher.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const POM_PATH = fileURLToPath(new URL('./pom.xml', import.meta.url));

// Bump when the way an engine is laid out in the cache changes, so old entries are not reused.
export const RECIPE_REVISION = 'r1';

function pomProperty(name: string): string {
  const pom = readFileSync(POM_PATH, 'utf8');
  const match = pom.match(new RegExp(`<${name}>([^<]+)</${name}>`));
  if (!match?.[1]) throw new Error(`Property <${name}> missing in ${POM_PATH}`);
  return match[1].trim();
}

export const versions = {
  elasticMq: pomProperty('elasticmq.version'),
  openSearch: pomProperty('opensearch.version'),
};
