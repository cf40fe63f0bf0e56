import { configDefaults, defineConfig } from 'vitest/config';

/** Test folders that need no engine (no Java, no local runtime): they run in seconds on their own. */
const ENGINE_FREE = ['test/unit/**/*.test.ts', 'test/infra/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    restoreMocks: true,
    projects: [
      {
        // `npx vitest run --project unit`: pure code and the synthesized templates.
        extends: true,
        test: { name: 'unit', include: ENGINE_FREE, setupFiles: ['test/support/unit-env.ts'] },
      },
      {
        // Everything else starts the local runtime (and its engines) once for the whole run.
        extends: true,
        test: {
          name: 'engines',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ENGINE_FREE],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/env.ts'],
        },
      },
    ],
  },
});
