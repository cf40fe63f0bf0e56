import { describe, expect, it } from 'vitest';
import {
  compileFilters,
  InvalidFilterPatternError,
  leafValues,
  matchesPattern,
} from '#local/streams/index.js';

/** A record as Lambda delivers it. */
const record = (
  overrides: { eventName?: string; newImage?: Record<string, unknown>; keys?: object } = {},
) => ({
  eventID: 'e1',
  eventName: overrides.eventName ?? 'INSERT',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'us-east-1',
  dynamodb: {
    ApproximateCreationDateTime: 1_795_241_880,
    Keys: overrides.keys ?? { id: { S: 'id_value_1' } },
    NewImage: overrides.newImage ?? { id: { S: 'id_value_1' } },
    SequenceNumber: '000000000000000000001',
    SizeBytes: 26,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
  eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-01-01T00:00:00.000',
});

const matches = (pattern: object, r: unknown) => matchesPattern(pattern, r);

describe('filter patterns (Lambda event filtering)', () => {
  it('matches exact values, with several values of one key ORed', () => {
    expect(matches({ eventName: ['INSERT'] }, record())).toBe(true);
    expect(matches({ eventName: ['INSERT'] }, record({ eventName: 'MODIFY' }))).toBe(false);
    expect(matches({ eventName: ['INSERT', 'MODIFY'] }, record({ eventName: 'MODIFY' }))).toBe(true);
  });

  it('ANDs keys, nested keys included', () => {
    const pattern = { eventName: ['INSERT'], dynamodb: { NewImage: { kind: { S: ['keep'] } } } };
    expect(matches(pattern, record({ newImage: { kind: { S: 'keep' } } }))).toBe(true);
    expect(matches(pattern, record({ eventName: 'MODIFY', newImage: { kind: { S: 'keep' } } }))).toBe(false);
    expect(matches(pattern, record({ newImage: { kind: { S: 'drop' } } }))).toBe(false);
  });

  it('needs the DynamoDB type level: a leaf matcher never matches an attribute object (as on AWS)', () => {
    const r = record({ newImage: { presentKey: { S: 'presentValue' } } });
    expect(matches({ dynamodb: { NewImage: { presentKey: { S: ['presentValue'] } } } }, r)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { presentKey: ['presentValue'] } } }, r)).toBe(false);
  });

  it('exists: true and false, on leaves only', () => {
    const present = record({ newImage: { presentKey: { S: 'v' } } });
    const absent = record();
    const exists = { dynamodb: { NewImage: { presentKey: { S: [{ exists: true }] } } } };
    expect(matches(exists, present)).toBe(true);
    expect(matches(exists, absent)).toBe(false);
    const notExists = { dynamodb: { NewImage: { presentKey: { S: [{ exists: false }] } } } };
    expect(matches(notExists, present)).toBe(false);
    expect(matches(notExists, absent)).toBe(true);
    // On an object (not a leaf), `exists: false` holds whether or not the attribute is there (AWS-verified).
    const onObject = { dynamodb: { NewImage: { presentKey: [{ exists: false }] } } };
    expect(matches(onObject, absent)).toBe(true);
    expect(matches(onObject, present)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { presentKey: [{ exists: true }] } } }, present)).toBe(false);
  });

  it('prefix and suffix, also ignoring case', () => {
    const r = record({ newImage: { region: { S: 'us-1-other-suffix' } } });
    expect(matches({ dynamodb: { NewImage: { region: { S: [{ prefix: 'us-1' }] } } } }, r)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { region: { S: [{ prefix: 'eu-' }] } } } }, r)).toBe(false);
    expect(matches({ dynamodb: { NewImage: { region: { S: [{ suffix: '-suffix' }] } } } }, r)).toBe(true);
    expect(
      matches(
        { dynamodb: { NewImage: { region: { S: [{ prefix: { 'equals-ignore-case': 'US-1' } }] } } } },
        r,
      ),
    ).toBe(true);
    expect(matches({ eventName: [{ 'equals-ignore-case': 'insert' }] }, record())).toBe(true);
  });

  it('anything-but: a value, a list, a prefix; never matches a missing key', () => {
    expect(matches({ eventName: [{ 'anything-but': 'REMOVE' }] }, record())).toBe(true);
    expect(matches({ eventName: [{ 'anything-but': ['INSERT', 'MODIFY'] }] }, record())).toBe(false);
    expect(matches({ eventName: [{ 'anything-but': { prefix: 'INS' } }] }, record())).toBe(false);
    expect(matches({ eventName: [{ 'anything-but': { prefix: 'MOD' } }] }, record())).toBe(true);
    expect(matches({ dynamodb: { NewImage: { missing: { S: [{ 'anything-but': 'x' }] } } } }, record())).toBe(
      false,
    );
  });

  it('numeric matches JSON numbers only: DynamoDB N values are strings and never match (as on AWS)', () => {
    const r = record({ newImage: { n: { N: '101' } } });
    expect(matches({ dynamodb: { NewImage: { n: { N: [{ numeric: ['>', 100] }] } } } }, r)).toBe(false);
    // Exact string match works on N.
    expect(matches({ dynamodb: { NewImage: { n: { N: ['101'] } } } }, r)).toBe(true);
    // A numeric matcher ORed with anything-but (the AWS-validated case: "42" passes, "101" does not).
    const pattern = {
      dynamodb: { NewImage: { n: { N: [{ numeric: ['>', 100] }, { 'anything-but': '101' }] } } },
    };
    expect(matches(pattern, r)).toBe(false);
    expect(matches(pattern, record({ newImage: { n: { N: '42' } } }))).toBe(true);
    // Numbers of the record itself do match.
    expect(matches({ dynamodb: { ApproximateCreationDateTime: [{ numeric: ['>', 0] }] } }, r)).toBe(true);
    expect(matches({ dynamodb: { SizeBytes: [{ numeric: ['>', 0, '<=', 26] }] } }, r)).toBe(true);
    expect(matches({ dynamodb: { SizeBytes: [{ numeric: ['>', 26] }] } }, r)).toBe(false);
    expect(matches({ dynamodb: { SizeBytes: [{ numeric: ['=', 26] }] } }, r)).toBe(true);
    expect(matches({ dynamodb: { SizeBytes: [26] } }, r)).toBe(true);
  });

  it('arrays in the record are ORed (any element matches)', () => {
    const r = record({ newImage: { tags: { SS: ['red', 'blue'] }, list: { L: [{ S: 'a' }, { S: 'b' }] } } });
    expect(matches({ dynamodb: { NewImage: { tags: { SS: ['blue'] } } } }, r)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { tags: { SS: ['green'] } } } }, r)).toBe(false);
    expect(matches({ dynamodb: { NewImage: { list: { L: { S: ['b'] } } } } }, r)).toBe(true);
    expect(leafValues(r, ['dynamodb', 'NewImage', 'list', 'L', 'S'])).toEqual(['a', 'b']);
  });

  it('null, booleans and the empty string', () => {
    const r = record({ newImage: { flag: { BOOL: true }, gone: { NULL: true }, empty: { S: '' } } });
    expect(matches({ dynamodb: { NewImage: { flag: { BOOL: [true] } } } }, r)).toBe(true);
    expect(matches({ dynamodb: { NewImage: { flag: { BOOL: [false] } } } }, r)).toBe(false);
    expect(matches({ dynamodb: { NewImage: { empty: { S: [''] } } } }, r)).toBe(true);
    expect(matches({ a: [null] }, { a: null })).toBe(true);
    expect(matches({ a: [null] }, { a: 'x' })).toBe(false);
  });

  it('$or and wildcard', () => {
    const pattern = {
      $or: [{ eventName: ['REMOVE'] }, { dynamodb: { Keys: { id: { S: [{ wildcard: 'id_*_1' }] } } } }],
    };
    expect(matches(pattern, record())).toBe(true);
    expect(matches(pattern, record({ keys: { id: { S: 'other' } } }))).toBe(false);
    expect(matches(pattern, record({ eventName: 'REMOVE', keys: { id: { S: 'other' } } }))).toBe(true);
  });

  it('ORs the filters of a mapping; no filter lets everything through', () => {
    expect(compileFilters([])).toBeUndefined();
    const filter = compileFilters([
      JSON.stringify({ eventName: ['REMOVE'] }),
      JSON.stringify({ eventName: ['INSERT'] }),
    ]);
    expect(filter?.(record())).toBe(true);
    expect(filter?.(record({ eventName: 'MODIFY' }))).toBe(false);
  });

  it('rejects what Lambda rejects as an invalid filter pattern', () => {
    for (const bad of [
      'single-string',
      '[{"eventName": ["INSERT"=123}]',
      '{"eventName": "INSERT"}',
      '{"eventName": []}',
      '{"eventName": [{"nope": 1}]}',
      '{"eventName": [{"numeric": [">"]}]}',
      '{"eventName": [{"exists": "yes"}]}',
    ]) {
      expect(() => compileFilters([bad]), bad).toThrow(InvalidFilterPatternError);
    }
  });
});
