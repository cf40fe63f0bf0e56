import { describe, expect, it } from 'vitest';
import {
  absentVersion,
  actionForItem,
  actionForRemoval,
  docIdOf,
  itemVersionOf,
  keyOfDocId,
  presentVersion,
  UnindexableItemError,
} from '#shared/search/documents.js';
import { indexOfTable, tableNameOfArn } from '#shared/search/indexer.js';
import { parseIndices } from '#shared/search/indices.js';

const user = {
  userId: 'u_1',
  username: 'alice',
  displayName: 'Alice',
  bio: 'hi',
  version: 3,
  status: 'active',
  passwordHash: 'secret',
  createdAt: 't',
  updatedAt: 't',
};
const message = {
  conversationId: 'g_1',
  seq: 7,
  messageId: 'm_1',
  senderId: 'u_1',
  clientMessageId: 'c1',
  text: '你好',
  createdAt: '2026-01-01T00:00:00.000Z',
  version: 1,
  fanout: 'stream',
  originConnectionId: 'conn',
};

describe('search documents', () => {
  it('orders presence and absence at each item version', () => {
    for (const v of [0, 1, 2, 41]) {
      expect(presentVersion(v)).toBeLessThan(absentVersion(v));
      expect(absentVersion(v)).toBeLessThan(presentVersion(v + 1));
      expect(itemVersionOf(presentVersion(v))).toBe(v);
      expect(itemVersionOf(absentVersion(v))).toBe(v);
    }
  });

  it('indexes only the public fields of an active user, at 2 x version', () => {
    expect(actionForItem('users', user)).toEqual({
      op: 'index',
      index: 'users',
      id: 'u_1',
      version: 6,
      doc: { userId: 'u_1', username: 'alice', displayName: 'Alice', bio: 'hi' },
    });
  });

  it('removes a user who is not active, above the same version', () => {
    for (const status of ['deleting', 'deleted', undefined]) {
      expect(actionForItem('users', { ...user, status })).toEqual({
        op: 'delete',
        index: 'users',
        id: 'u_1',
        version: 7,
      });
    }
  });

  it('indexes the message fields of the contract under conversation#seq', () => {
    const action = actionForItem('messages', message);
    expect(action).toEqual({
      op: 'index',
      index: 'messages',
      id: 'g_1#7',
      version: 2,
      doc: {
        conversationId: 'g_1',
        seq: 7,
        messageId: 'm_1',
        senderId: 'u_1',
        clientMessageId: 'c1',
        text: '你好',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    });
    expect(keyOfDocId('messages', 'g_1#7')).toEqual({ conversationId: 'g_1', seq: 7 });
    expect(keyOfDocId('users', 'u_1')).toEqual({ userId: 'u_1' });
    expect(keyOfDocId('messages', 'nonsense')).toBeUndefined();
    expect(docIdOf('messages', { conversationId: 'g_1', seq: 0 })).toBe('g_1#0');
  });

  it('follows an edit at its version and removes a deleted message above every earlier document', () => {
    const edited = actionForItem('messages', {
      ...message,
      text: 'edited',
      version: 2,
      editedAt: 't',
      changeSeq: 3,
    });
    expect(edited).toMatchObject({ op: 'index', version: presentVersion(2), doc: { text: 'edited' } });
    const deleted = actionForItem('messages', { ...message, text: '', version: 3, deletedAt: 't' });
    expect(deleted).toEqual({ op: 'delete', index: 'messages', id: 'g_1#7', version: absentVersion(3) });
    // A replayed edit (or the original) never outranks the deletion.
    expect(absentVersion(3)).toBeGreaterThan(presentVersion(2));
    // Reactions do not touch the document's version: a replay of one is a no-op at the same version.
    const reacted = actionForItem('messages', { ...message, reactions: { '👍': 2 }, changeSeq: 4 });
    expect(reacted).toMatchObject({ op: 'index', version: presentVersion(1) });
    expect(Object.keys((reacted as { doc: object }).doc)).not.toContain('reactions');
  });

  it('deletes a removed item above its old image version', () => {
    expect(actionForRemoval('messages', message)).toEqual({
      op: 'delete',
      index: 'messages',
      id: 'g_1#7',
      version: 3,
    });
  });

  it('refuses items it cannot version or identify', () => {
    expect(() => actionForItem('messages', { ...message, version: undefined })).toThrow(UnindexableItemError);
    expect(() => actionForItem('messages', { ...message, version: 1.5 })).toThrow(UnindexableItemError);
    expect(() => actionForItem('messages', { ...message, seq: 'x' })).toThrow(UnindexableItemError);
    expect(() => actionForItem('users', { ...user, userId: '' })).toThrow(UnindexableItemError);
  });

  it('tells the table from the stream ARN', () => {
    const tables = { users: 'Users1', messages: 'Messages1' } as any;
    const arn = (t: string) =>
      `arn:aws:dynamodb:us-east-1:123456789012:table/${t}/stream/2026-01-01T00:00:00.000`;
    expect(tableNameOfArn(arn('Users1'))).toBe('Users1');
    expect(indexOfTable(tableNameOfArn(arn('Users1')), tables)).toBe('users');
    expect(indexOfTable(tableNameOfArn(arn('Messages1')), tables)).toBe('messages');
    expect(indexOfTable(tableNameOfArn(arn('Users10')), tables)).toBeUndefined();
    expect(indexOfTable(tableNameOfArn(undefined), tables)).toBeUndefined();
  });

  it('parses index names of commands', () => {
    expect(parseIndices([])).toEqual(['users', 'messages']);
    expect(parseIndices(['messages'])).toEqual(['messages']);
    expect(() => parseIndices(['nope'])).toThrow(/Unknown index/);
  });
});
