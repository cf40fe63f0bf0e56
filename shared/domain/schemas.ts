import { z } from 'zod';

/** Usernames are case-insensitive: lower-cased first, then checked. */
export const username = z
  .string()
  .trim()
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9_.]{3,32}$/, 'must be 3-32 characters of a-z, 0-9, _ and .'));

export const password = z.string().min(8).max(128);
export const displayName = z.string().trim().min(1).max(64);
export const bio = z.string().max(280);

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
