import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { GetUser, HttpUser } from '../http/context.js';
import { UsageError } from './command.js';

/** One entry of a `--users` file: `{ "token": "…", "id": 1, "username": "alice", "is_admin": false }`. */
export const usersFileSchema = z
  .array(
    z.object({
      token: z.string().min(1, { error: 'token must not be empty' }),
      id: z.union([z.string().min(1), z.number().int()]),
      username: z.string().nullish(),
      is_admin: z.boolean().optional(),
    }),
  )
  .superRefine((users, ctx) => {
    const seen = new Set<string>();
    users.forEach((u, i) => {
      if (seen.has(u.token)) ctx.addIssue({ code: 'custom', message: 'duplicate token', path: [i, 'token'] });
      seen.add(u.token);
    });
  });

export type UsersFileEntry = z.output<typeof usersFileSchema>[number];

/** Reads and validates a `--users` file; a bad file is a `UsageError` naming the entry and field. */
export async function readUsersFile(path: string): Promise<UsersFileEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read --users file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--users file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = usersFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? ` at [${issue.path.join('].[')}]` : '';
    throw new UsageError(`--users file ${path}${where}: ${issue.message}`);
  }
  return parsed.data;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * `getUser` for bearer tokens: `Authorization: Bearer <token>` → the user with that token, else `null` (401).
 * Tokens are looked up by their SHA-256, so the comparison time does not depend on how much of a guess matches.
 */
export function bearerTokenAuth(users: readonly UsersFileEntry[]): GetUser<unknown> {
  const byDigest = new Map<string, HttpUser>(
    users.map((u) => [digest(u.token), { id: u.id, username: u.username ?? null, isAdmin: u.is_admin === true }]),
  );
  return function getUserFromBearerToken(request) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    return match ? (byDigest.get(digest(match[1])) ?? null) : null;
  };
}
