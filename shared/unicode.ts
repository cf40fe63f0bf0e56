import { InvalidRequestError } from './errors.js';

// A UTF-16 surrogate without its partner: JSON allows it as an escape (`"\ud83d"`), but it is not
// Unicode text, and DynamoDB and SQS refuse it (SerializationException), so it must be refused at
// the door with a 400 rather than fail a write.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when a string holds a lone surrogate. */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

// Characters that show nothing on their own: white space (the `\s` class) and the default-ignorable
// code points (zero-width space and joiners, word joiner, soft hyphen, variation selectors, BOM,
// Hangul fillers, tag characters...; Unicode's DerivedCoreProperties), which renderers draw as nothing.
const INVISIBLE_ONLY = /^[\s\p{Default_Ignorable_Code_Point}]*$/u;

/**
 * True when a string shows something: it holds at least one character that is neither white space nor
 * default-ignorable. Emoji ZWJ sequences (`"👩\u200d👩\u200d👧"`) show their emoji, so they count.
 */
export function hasVisibleText(s: string): boolean {
  return !INVISIBLE_ONLY.test(s);
}

/**
 * Deepest nesting of arrays and objects a request body or frame may have. The contract's deepest shape
 * is three levels; 32 leaves room for any honest client while refusing bodies built to exhaust a stack.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Walks a parsed JSON value (iteratively: a deeply nested body cannot exhaust the stack) and throws
 * InvalidRequestError (400) naming the first string, key or value, that holds a lone surrogate, or the
 * first value nested deeper than MAX_JSON_DEPTH.
 */
export function requireWellFormedText(value: unknown, where: string): void {
  const pending: Array<{ value: unknown; where: string; depth: number }> = [{ value, where, depth: 0 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: v, where: at, depth } = next;
    if (typeof v === 'string') {
      if (hasLoneSurrogate(v)) throw new InvalidRequestError(`${at}: not valid Unicode text`, { field: at });
    } else if (v && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH)
        throw new InvalidRequestError(`${at}: nested deeper than ${MAX_JSON_DEPTH} levels`, { field: at });
      const keys = Object.keys(v);
      // Pushed last to first, so the first offending field is still the first one named.
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        if (hasLoneSurrogate(k))
          throw new InvalidRequestError(`${at}: not valid Unicode text`, { field: at });
        const path = Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`;
        pending.push({ value: (v as Record<string, unknown>)[k], where: path, depth: depth + 1 });
      }
    }
  }
}
