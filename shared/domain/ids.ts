import { createHash, randomUUID } from 'node:crypto';

/** A fresh opaque id with a type prefix. */
export function newId(prefix: string): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

/** The one direct conversation of a pair, ever: derived from the pair, so every path finds the same one. */
export function directConversationId(a: string, b: string): string {
  const [x, y] = [a, b].sort();
  return `d_${createHash('sha256').update(`${x}\u0000${y}`).digest('hex').slice(0, 32)}`;
}
