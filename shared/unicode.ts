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
 * Walks a parsed JSON value and throws InvalidRequestError (400) naming the first string, key or value,
 * that holds a lone surrogate.
 */
export function requireWellFormedText(value: unknown, where: string): void {
  if (typeof value === 'string') {
    if (hasLoneSurrogate(value))
      throw new InvalidRequestError(`${where}: not valid Unicode text`, { field: where });
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) requireWellFormedText(v, `${where}[${i}]`);
    return;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (hasLoneSurrogate(k))
        throw new InvalidRequestError(`${where}: not valid Unicode text`, { field: where });
      requireWellFormedText(v, `${where}.${k}`);
    }
  }
}
