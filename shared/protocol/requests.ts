/**
 * The contract's request shapes, in one home: HTTP bodies, path parameters and queries (`?limit=&cursor=`
 * included), and the field schemas the WebSocket frames (`./frames.ts`) are built from. Handlers parse
 * with these; the published OpenAPI and AsyncAPI documents are generated from them.
 */
import { z } from 'zod';
import { hasLoneSurrogate, hasVisibleText } from '../unicode.js';

/**
 * A string that is Unicode text: no lone surrogate, which a JSON escape (`"\ud83d"`) can carry but
 * UTF-8 cannot encode. Bodies and frames are checked as a whole when parsed; every text field checks
 * again here, so a field fed from anywhere else (a query string, another function) holds the same rule.
 */
export const text = () => z.string().refine((s) => !hasLoneSurrogate(s), 'must be valid Unicode text');

/** Usernames are case-insensitive: lower-cased first, then checked. */
export const username = z
  .string()
  .trim()
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9_.]{3,32}$/, 'must be 3-32 characters of a-z, 0-9, _ and .'))
  .meta({ description: 'Lower-cased, then 3-32 characters of a-z, 0-9, _ and .', examples: ['alice'] });

export const password = z.string().min(8).max(128);
/** Text that must show something: not only white space or invisible characters (e.g. U+200B). */
const visible = (field: z.ZodString) =>
  field.refine(hasVisibleText, 'must not be blank (only white space or invisible characters)');
export const displayName = visible(text().trim().min(1).max(64));
export const bio = text().max(280);

export const registerBody = z.object({ username, password, displayName });
export const loginBody = z.object({
  username: z
    .string()
    .trim()
    .min(1)
    .max(64)
    .transform((s) => s.toLowerCase()),
  password: z.string().min(1).max(128),
});
export const changePasswordBody = z.object({
  currentPassword: z.string().min(1).max(128),
  newPassword: password,
});
export const updateMeBody = z
  .object({
    displayName: displayName.optional(),
    bio: bio.optional(),
    expectedVersion: z.number().int().min(1),
  })
  .refine((b) => b.displayName !== undefined || b.bio !== undefined, {
    message: 'give displayName or bio',
    path: ['displayName'],
  });

/** Opaque ids as path parameters: bounded and printable. */
export const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\w.:=-]+$/, 'is not a valid id');

/** Contract bounds on message text; longer text is 413, not 400. */
export const MAX_TEXT_CHARS = 4000;
/**
 * Characters SQS accepts in a message body (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
 * #x10000-#x10FFFF, SQS SendMessage API reference): a send travels through the queue, so anything else
 * is refused with a 400 here instead of failing (or blocking the conversation) later.
 */
const QUEUEABLE = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const queueable = (s: string) => QUEUEABLE.test(s);
export const clientMessageId = z
  .string()
  .min(1)
  .max(64)
  .refine(queueable, 'must be text without control characters or noncharacters');
export const messageText = visible(
  text().min(1).refine(queueable, 'must be text without control characters or noncharacters'),
);
export const seq = z.number().int().min(0);

/** A message's position in its conversation, as a path parameter. */
export const seqParam = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const replyTo = z
  .object({ seq: z.number().int().min(1) })
  .meta({ description: 'The message this one answers: an undeleted message of the same conversation' });
export const sendMessageBody = z.object({ clientMessageId, text: messageText, replyTo: replyTo.optional() });
export const editMessageBody = z.object({ text: messageText });

// The `v` flag (Unicode sets) is in Node.js 20; the flags are a variable because the compile target
// (ES2023) predates it.
const UNICODE_SETS = 'v';
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', UNICODE_SETS);
/**
 * One emoji as Unicode defines it for interchange (`RGI_Emoji`: single code points, keycaps, flags,
 * modifier and ZWJ sequences; Unicode Technical Standard #51), at most 32 UTF-16 units.
 */
export const emoji = z
  .string()
  .min(1)
  .max(32)
  .refine((s) => RGI_EMOJI.test(s), 'must be exactly one emoji')
  .meta({ description: 'One emoji (Unicode RGI emoji, e.g. 👍, 👍🏽, 🇫🇷, 👩‍💻)', examples: ['👍'] });
export const reactionBody = z.object({ emoji });

export const historyQuery = z.object({
  afterSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const changesQuery = z.object({
  afterChangeSeq: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const groupBody = z.object({
  name: visible(text().trim().min(1).max(64)),
  memberIds: z.array(id).max(1000),
});
export const addMembersBody = z.object({ userIds: z.array(id).min(1).max(1000) });
export const markReadBody = z.object({ seq });

export const friendRequestBody = z.object({ toUserId: id, message: text().max(280).optional() });
export const friendRequestsQuery = z.object({
  direction: z.enum(['incoming', 'outgoing']).default('incoming'),
});

/** Search text: trimmed, 1-200 characters. */
export const searchText = text().trim().min(1).max(200);
export const searchLimit = z.coerce.number().int().min(1).max(50).default(20);

export const usersSearchQuery = z.object({ q: searchText, limit: searchLimit });
export const messagesSearchQuery = z.object({
  q: searchText,
  conversationId: id.optional(),
  limit: searchLimit,
});

/** `?limit=&cursor=` of a paginated list: limit 1-200, default 100. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(100),
  cursor: z.string().min(1).max(512).optional(),
});
export type PageQuery = z.infer<typeof pageQuery>;
