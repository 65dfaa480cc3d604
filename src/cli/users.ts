import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { GetUser, HttpUser } from '../http/context.js';
import { UsageError } from './command.js';

/** One entry of a `--users` file: `{ "token": "…", "id": 1, "username": "alice", "is_admin": false }`. */
const usersFileEntrySchema = z.object(
  {
    token: z.string({ error: '"token" must be a non-empty string' }).min(1, {
      error: '"token" must be a non-empty string',
    }),
    id: z.union([z.string().min(1), z.number().int()], {
      error: '"id" must be a non-empty string or an integer',
    }),
    username: z.string({ error: '"username" must be a string or null' }).nullish(),
    is_admin: z.boolean({ error: '"is_admin" must be true or false' }).optional(),
  },
  { error: 'must be an object like { "token": "…", "id": 1 }' },
);

/** A `--users` file: a JSON array of entries, each token used once. */
export const usersFileSchema = z
  .array(usersFileEntrySchema, { error: 'must be a JSON array of users like [{ "token": "…", "id": 1 }]' })
  .superRefine((users, ctx) => {
    const seen = new Map<string, number>();
    users.forEach((u, i) => {
      const first = seen.get(u.token);
      // The token itself is never echoed: it is a secret.
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', message: `"token" is the same as entry ${first + 1}'s`, path: [i, 'token'] });
      else seen.set(u.token, i);
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
  if (!parsed.success) throw new UsageError(`invalid --users file ${path}:\n${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** How many problems of a bad file are listed; the rest are counted. */
const MAX_LISTED_ISSUES = 5;

/**
 * The problems of a users file, one a line, each naming the entry (counted from 1, as a person reads the file) and
 * the field: `users file entry 2: "token" must be a non-empty string`.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const [index] = issue.path;
    return typeof index === 'number'
      ? `users file entry ${index + 1}: ${issue.message}`
      : `users file ${issue.message}`;
  });
  if (issues.length > MAX_LISTED_ISSUES) lines.push(`… and ${issues.length - MAX_LISTED_ISSUES} more`);
  return lines.join('\n');
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/** `getUser` for bearer tokens whose users can be replaced while serving (`serve` reloads its file on SIGHUP). */
export interface BearerTokenAuth extends GetUser<unknown> {
  /** Replaces every user at once: a token left out of `users` is refused from the next request on. */
  replace(users: readonly UsersFileEntry[]): void;
}

/**
 * `getUser` for bearer tokens: `Authorization: Bearer <token>` → the user with that token, else `null` (401).
 * Tokens are looked up by their SHA-256, so the comparison time does not depend on how much of a guess matches.
 */
export function bearerTokenAuth(users: readonly UsersFileEntry[]): BearerTokenAuth {
  const index = (list: readonly UsersFileEntry[]) =>
    new Map<string, HttpUser>(
      list.map((u) => [digest(u.token), { id: u.id, username: u.username ?? null, isAdmin: u.is_admin === true }]),
    );
  let byDigest = index(users);
  const getUserFromBearerToken: GetUser<unknown> = (request) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
    return match ? (byDigest.get(digest(match[1])) ?? null) : null;
  };
  return Object.assign(getUserFromBearerToken, {
    replace(next: readonly UsersFileEntry[]) {
      byDigest = index(next);
    },
  });
}
