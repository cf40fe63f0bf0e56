import { PayloadTooLargeError } from '../errors.js';
import { MAX_TEXT_CHARS } from '../protocol/requests.js';

/** Oversize text is refused with 413 before anything is written. */
export function requireTextWithinLimit(text: string): void {
  if ([...text].length > MAX_TEXT_CHARS) {
    throw new PayloadTooLargeError(`text: at most ${MAX_TEXT_CHARS} characters`);
  }
}
