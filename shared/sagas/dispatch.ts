import { BusinessError, classified } from './step-errors.js';

export interface StepEvent {
  step: string;
  input: Record<string, unknown>;
}

/**
 * Builds a saga Lambda: the state machine names the step, the function runs it and reports failures
 * as `TransientError` (retried by the state machine) or `BusinessError` (compensated).
 */
export function sagaHandler(steps: Record<string, (input: never) => Promise<unknown>>) {
  return async (event: StepEvent): Promise<null> => {
    const step = steps[event.step];
    if (!step) throw new BusinessError(`unknown step ${event.step}`);
    await classified(() => step(event.input as never));
    return null;
  };
}
