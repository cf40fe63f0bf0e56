import { AsyncLocalStorage } from 'node:async_hooks';

/** The invocation a function's code runs for, as an instrumentation module sees it. */
export interface CurrentInvocation {
  readonly functionName: string;
  readonly event: unknown;
}

const store = new AsyncLocalStorage<CurrentInvocation>();
let tracking = false;

/**
 * The invocation whose handler (and everything it awaits) is running, in a function's thread whose
 * runtime was given instrumentation modules (`preload`); undefined elsewhere. Only tracked then:
 * async context tracking costs every promise of the thread a little.
 */
export function currentInvocation(): CurrentInvocation | undefined {
  return store.getStore();
}

/** Called by the function's thread when instrumentation is loaded. */
export function trackInvocations(): void {
  tracking = true;
}

/** Runs `body` as the given invocation (in its async context when tracked). */
export function runInvocation<T>(invocation: CurrentInvocation, body: () => T): T {
  return tracking ? store.run(invocation, body) : body();
}
