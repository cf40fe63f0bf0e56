import { inject } from 'vitest';

// Handlers read configuration from process.env at cold start, as on Lambda; give in-process tests the
// running engines' endpoints and table names before any handler module is imported.
Object.assign(process.env, inject('handlerEnv'));
