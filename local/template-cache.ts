import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type CfnTemplate, synthTemplate } from '#infra/synth.js';

/** Everything a synthesized template can depend on: the CDK app, the code it imports, the entries. */
const INPUTS = ['infra', 'shared', 'functions', 'package-lock.json', 'cdk.json'];

async function files(root: string, path: string): Promise<string[]> {
  const full = join(root, path);
  try {
    const entries = await readdir(full, { withFileTypes: true });
    const nested = await Promise.all(
      entries.map((e) =>
        e.isDirectory() ? files(root, join(path, e.name)) : Promise.resolve([join(path, e.name)]),
      ),
    );
    return nested.flat();
  } catch {
    return [path];
  }
}

/**
 * The synthesized template, reused while none of its inputs changed: synthesis takes seconds, and the
 * runtime, the tests and the commands all need the same template. The cache is keyed by a hash of every
 * input file, so it can never serve a template the code would not produce.
 */
export async function cachedTemplate(rootDir: string, context: Record<string, unknown> = { stage: 'dev' }) {
  const hash = createHash('sha256').update(JSON.stringify(context));
  for (const file of (await Promise.all(INPUTS.map((p) => files(rootDir, p)))).flat().sort()) {
    hash.update(relative(rootDir, join(rootDir, file)));
    hash.update(await readFile(join(rootDir, file)).catch(() => Buffer.alloc(0)));
  }
  const dir = join(rootDir, 'node_modules', '.cache', 'chat-template');
  const path = join(dir, `${hash.digest('hex').slice(0, 24)}.json`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CfnTemplate;
  } catch {
    const template = synthTemplate(context);
    await mkdir(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(template));
    await rename(tmp, path);
    return template;
  }
}
