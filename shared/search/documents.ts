import { messageKey, userKey } from '../data/keys.js';
import { MESSAGE_CORE_FIELDS } from '../data/messages-repo.js';
import type { SearchIndex } from './indices.js';

/**
 * Index documents are versioned externally from the item's own `version` (the optimistic-locking
 * counter every change bumps), encoded so that presence and absence at the same item version are
 * ordered: the document of an item at version v is written with `2v`, its removal (item deleted, or
 * user no longer active) with `2v + 1`. OpenSearch applies an operation only if its version is higher
 * than the stored one (or the delete tombstone's), so replays, duplicates and out-of-order records
 * cannot move a document back, a removal beats the same version's document even when the status change
 * that caused it did not bump the version, and the next version's document (`2v + 2`) beats the removal.
 */
export const presentVersion = (itemVersion: number) => 2 * itemVersion;
export const absentVersion = (itemVersion: number) => 2 * itemVersion + 1;
/** The item version an external document version was written for. */
export const itemVersionOf = (docVersion: number) => Math.floor(docVersion / 2);

export type SearchAction =
  | {
      readonly op: 'index';
      readonly index: SearchIndex;
      readonly id: string;
      readonly version: number;
      readonly doc: Record<string, unknown>;
      /**
       * `external` (default): applied only above the stored version. `external_gte`: also at an equal
       * version; used only by the reconciler to restore a document over a stray tombstone.
       */
      readonly versionType?: 'external' | 'external_gte';
    }
  /** Deletes apply at a version equal to the stored one too (`external_gte`): a removal at v beats a document restored at v. */
  | { readonly op: 'delete'; readonly index: SearchIndex; readonly id: string; readonly version: number };

/** The data an item or image failed to provide; the record cannot be indexed as it is. */
export class UnindexableItemError extends Error {}

type Item = Record<string, unknown>;

function str(item: Item, name: string): string {
  const v = item[name];
  if (typeof v !== 'string' || v === '') throw new UnindexableItemError(`${name} missing or not a string`);
  return v;
}
function int(item: Item, name: string, min: number): number {
  const v = item[name];
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) {
    throw new UnindexableItemError(`${name} missing or not an integer >= ${min}`);
  }
  return n;
}
/** Copies the named attributes that are present, as they are (OpenSearch's mapping judges them). */
function pick(item: Item, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of names) if (item[name] !== undefined && item[name] !== null) out[name] = item[name];
  return out;
}

/** Document id of a message: conversation and seq (`#` never occurs in ids, see the `id` schema). */
export const messageDocId = (conversationId: string, seq: number) => `${conversationId}#${seq}`;

/** The item key a document id stands for (built by the data layer). */
export function keyOfDocId(index: SearchIndex, id: string): Record<string, string | number> | undefined {
  if (index === 'users') return userKey(id);
  const at = id.lastIndexOf('#');
  const seq = Number(id.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(seq)) return undefined;
  return messageKey(id.slice(0, at), seq);
}

/** Document id from an item or its key attributes. */
export function docIdOf(index: SearchIndex, item: Item): string {
  return index === 'users'
    ? str(item, 'userId')
    : messageDocId(str(item, 'conversationId'), int(item, 'seq', 0));
}

const USER_FIELDS = ['userId', 'username', 'displayName', 'bio'] as const;
/** A message document holds exactly the message's core fields. */
const MESSAGE_FIELDS = MESSAGE_CORE_FIELDS;

/** What the index must hold for an item as it is now: its document, or nothing (inactive user, deleted message). */
export function actionForItem(index: SearchIndex, item: Item): SearchAction {
  const id = docIdOf(index, item);
  const version = int(item, 'version', 0);
  if (index === 'users' && item.status !== 'active') {
    return { op: 'delete', index, id, version: absentVersion(version) };
  }
  // A deleted message stays as a tombstone item; its text leaves the index (the deletion bumped the
  // version, so this removal is above the last document and an edit's replay cannot bring it back).
  if (index === 'messages' && item.deletedAt !== undefined && item.deletedAt !== null) {
    return { op: 'delete', index, id, version: absentVersion(version) };
  }
  const doc = pick(item, index === 'users' ? USER_FIELDS : MESSAGE_FIELDS);
  return { op: 'index', index, id, version: presentVersion(version), doc };
}

/** What the index must do once the item is gone: remove its document, above the old image's version. */
export function actionForRemoval(index: SearchIndex, oldImage: Item): SearchAction {
  return {
    op: 'delete',
    index,
    id: docIdOf(index, oldImage),
    version: absentVersion(int(oldImage, 'version', 0)),
  };
}
