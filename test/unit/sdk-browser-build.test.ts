import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('SDK browser build', () => {
  it('bundles for browsers from the SDK alone: no Node.js built-ins, no zod, no backend code', async () => {
    const result = await build({
      entryPoints: ['clients/sdk/index.ts'],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(5);
    expect(inputs.filter((path) => !path.startsWith('clients/sdk/'))).toEqual([]);
    const imports = Object.values(result.metafile.inputs).flatMap((input) =>
      input.imports.map((i) => i.path),
    );
    expect(imports.filter((path) => path.startsWith('node:') || !path.startsWith('clients/'))).toEqual([]);
  });
});
