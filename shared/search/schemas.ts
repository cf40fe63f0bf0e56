import { z } from 'zod';
import { id, text } from '../domain/schemas.js';

/** Search text: trimmed, 1-200 characters. */
export const searchText = text().trim().min(1).max(200);
export const searchLimit = z.coerce.number().int().min(1).max(50).default(20);

export const usersSearchQuery = z.object({ q: searchText, limit: searchLimit });
export const messagesSearchQuery = z.object({
  q: searchText,
  conversationId: id.optional(),
  limit: searchLimit,
});
