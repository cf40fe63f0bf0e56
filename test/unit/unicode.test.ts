import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '#shared/errors.js';
import { clientMessageId, messageText } from '#shared/protocol/requests.js';
import { hasLoneSurrogate, hasVisibleText, MAX_JSON_DEPTH, requireWellFormedText } from '#shared/unicode.js';

describe('text that cannot be stored or queued', () => {
  it('finds lone surrogates, not pairs', () => {
    expect(hasLoneSurrogate('hi \ud83d')).toBe(true);
    expect(hasLoneSurrogate('\udfff x')).toBe(true);
    expect(hasLoneSurrogate('ok 😀 你好')).toBe(false);
  });

  it('refuses a parsed body with a lone surrogate anywhere, naming where', () => {
    const body = JSON.parse('{"a":{"b":["ok","x\\ud800"]}}');
    expect(() => requireWellFormedText(body, 'body')).toThrowError(InvalidRequestError);
    expect(() => requireWellFormedText(body, 'body')).toThrow('body.a.b[1]');
    expect(() => requireWellFormedText(JSON.parse('{"\\udc00":1}'), 'body')).toThrowError(
      InvalidRequestError,
    );
    expect(() => requireWellFormedText({ text: 'fine 😀' }, 'body')).not.toThrow();
  });

  it('refuses a body nested deeper than MAX_JSON_DEPTH with a 400, not a stack overflow', () => {
    const deep = JSON.parse(`{"text":"x","z":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
    expect(() => requireWellFormedText(deep, 'body')).toThrowError(InvalidRequestError);
    expect(() => requireWellFormedText(deep, 'body')).toThrow(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    const within = JSON.parse(`${'['.repeat(MAX_JSON_DEPTH)}"ok"${']'.repeat(MAX_JSON_DEPTH)}`);
    expect(() => requireWellFormedText(within, 'body')).not.toThrow();
    const over = JSON.parse(`${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`);
    expect(() => requireWellFormedText(over, 'body')).toThrowError(InvalidRequestError);
  });

  it('keeps message text and client message ids to what SQS accepts, and text not blank', () => {
    expect(messageText.safeParse('hello 😀\n').success).toBe(true);
    expect(messageText.safeParse('\uffff').success).toBe(false);
    expect(messageText.safeParse('bell \u0007').success).toBe(false);
    expect(messageText.safeParse('   ').success).toBe(false);
    expect(messageText.safeParse('\u200b').success).toBe(false);
    expect(clientMessageId.safeParse('c-1').success).toBe(true);
    expect(clientMessageId.safeParse('c\u0000').success).toBe(false);
  });

  it('tells text that shows something from white space and default-ignorable characters', () => {
    for (const s of ['', ' ', '\u200b', '\u200b\u200d', '\u2060', '\ufeff', '\ufe0f', '\u3164', '\u{E0041}'])
      expect(hasVisibleText(s), JSON.stringify(s)).toBe(false);
    for (const s of ['a', ' a\u200b', '\u{1F469}\u200d\u{1F469}\u200d\u{1F467}', '\u2764\ufe0f', '你好'])
      expect(hasVisibleText(s), JSON.stringify(s)).toBe(true);
  });
});
