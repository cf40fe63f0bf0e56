// The event pollers' thread starts here: like a function's thread (see ../function-worker.mjs), it
// registers tsx itself, since a worker does not inherit the loader of the runtime's command line.
import { register } from 'tsx/esm/api';

register();
await import('./pollers-worker.ts');
