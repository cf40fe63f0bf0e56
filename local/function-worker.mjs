// A local function's worker thread starts here. The runtime's own process may run its TypeScript through
// tsx's command line, whose loader a worker does not inherit, so the worker registers tsx itself before
// it loads the function (the same sources CDK bundles).
import { register } from 'tsx/esm/api';

register();
await import('./function-worker.ts');
