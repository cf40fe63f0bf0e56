import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { asyncApiDocument } from '#shared/protocol/asyncapi.js';
import { openApiDocument } from '#shared/protocol/openapi.js';

// `npm run docs:api`: regenerates the published OpenAPI and AsyncAPI documents from the zod schemas.
// A unit test fails while the committed copies differ from what the schemas generate.
const docs = fileURLToPath(new URL('../docs/', import.meta.url));
await writeFile(`${docs}openapi.json`, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
await writeFile(`${docs}asyncapi.json`, `${JSON.stringify(asyncApiDocument(), null, 2)}\n`);
console.log('wrote docs/openapi.json and docs/asyncapi.json');
