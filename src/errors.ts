/**
 * The few error classes of the library. Each one is a decision for the caller, and the HTTP layer maps each to one
 * status code in one place (`http/errors.ts`).
 */

/** Bad input: an unknown status, a malformed date, an invalid setting. HTTP 400. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  /** The parameter or setting at fault, e.g. `end_date` or `AGENTCORE_TASK_RETENTION_DAYS`. */
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: ErrorOptions) {
    super(message, options);
    this.field = field;
  }
}

/** The thing asked for does not exist, or the caller may not see it. HTTP 404. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** The caller is known but may not do this. HTTP 403. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}

/** A backend (queue, database, Redis) could not be reached. HTTP 503. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** An optional peer dependency the chosen configuration needs is not installed. */
export class MissingDependencyError extends Error {
  override name = 'MissingDependencyError';
  readonly packageName: string;
  constructor(packageName: string, purpose: string, options?: ErrorOptions) {
    super(`${purpose} needs the "${packageName}" package: run \`npm install ${packageName}\``, options);
    this.packageName = packageName;
  }
}

/** Turns anything thrown into an `Error`, keeping the original as `cause` (as graphile-worker's coerceError). */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  const message = typeof value === 'string' ? value : safeString(value);
  return new Error(message, { cause: value });
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
