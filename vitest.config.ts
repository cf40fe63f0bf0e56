import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the local runtime (and its engines) once for the whole run.
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/env.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    restoreMocks: true,
  },
});
