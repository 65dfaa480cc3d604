import { BackendUnavailableError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import type { Logger } from '../logger.js';

/** No user: the request is not authenticated. HTTP 401 (HTTP-only, so it lives here rather than in the core). */
export class AuthenticationRequiredError extends Error {
  override name = 'AuthenticationRequiredError';
  constructor(message = 'Authentication credentials were not provided.') {
    super(message);
  }
}

/**
 * An HTTP-level refusal that is about the request's form, not its content: a method the path does not take (405 with
 * `Allow`), a body that is not JSON (415), a body over the limit (413). `headers` go on the answer.
 */
export class HttpRequestError extends Error {
  override name = 'HttpRequestError';
  constructor(
    readonly status: 405 | 413 | 415,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The client went away while its request body was being read: nothing to answer, and nothing is wrong here. */
export class RequestAbortedError extends Error {
  override name = 'RequestAbortedError';
  constructor(options?: ErrorOptions) {
    super('The client closed the connection before its request body was read.', options);
  }
}

/** The body of a 400: the message and the query parameter or body field at fault. */
export interface ValidationErrorBody {
  error: string;
  field: string;
}

/**
 * The body of a 401, 403, 405, 413, 415, 429, 503 and 500: DRF's `detail` (what a front end written for the seed reads) and the same
 * message as `error` (the key of our 400s), so a client can read either. A 404 is `{ detail }` alone, as the spec's
 * `{"detail": "Invalid page."}`.
 */
export interface DetailErrorBody {
  detail: string;
  error?: string;
}

const detail = (message: string): DetailErrorBody => ({ detail: message, error: message });

export interface ErrorMappingOptions {
  logger: Logger;
  /** `true` when `error` means the database could not be reached (mapped to 503, not 500). */
  isTransientDatabaseError?: (error: unknown) => boolean;
}

/**
 * Headers of every JSON answer: `nosniff` so a browser never reads one as HTML or script, `no-store` so no cache
 * (shared or the browser's) keeps a user's runs.
 */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=UTF-8',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
});

const json = (body: unknown, status: number, headers?: Record<string, string>) =>
  new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });

/**
 * The one place where errors become HTTP responses: `ValidationError` → 400 `{ error, field }`,
 * missing user → 401, `ForbiddenError` → 403, `NotFoundError` → 404, `HttpRequestError` → its 405/413/415,
 * `BackendUnavailableError` (or an unreachable database) → 503, an upload the client aborted → 400 logged as such, with `{ detail, error }` (404: `{ detail }`); anything else → 500, logged, with no internals in the body.
 */
export function errorToResponse(error: unknown, options: ErrorMappingOptions): Response {
  if (error instanceof ValidationError)
    return json({ error: error.message, field: error.field ?? 'body' } satisfies ValidationErrorBody, 400);
  if (error instanceof AuthenticationRequiredError) return json(detail(error.message), 401);
  if (error instanceof ForbiddenError) return json(detail(error.message), 403);
  if (error instanceof NotFoundError) return json({ detail: error.message || 'Not found.' }, 404);
  if (error instanceof BackendUnavailableError) return json(detail(error.message), 503);
  if (error instanceof HttpRequestError) return json(detail(error.message), error.status, { ...error.headers });
  if (error instanceof RequestAbortedError) {
    // Not a failure of ours (nor the database's): the client is gone, so the answer is only for the log.
    options.logger.info({ err: error }, 'agentcore-task: client aborted the request while sending its body');
    return json(detail(error.message), 400, { connection: 'close' });
  }
  if (options.isTransientDatabaseError?.(error)) {
    options.logger.warn({ err: error }, 'agentcore-task: database unavailable while serving a request');
    return json(detail('The database is unavailable; try again shortly.'), 503);
  }
  options.logger.error({ err: error }, 'agentcore-task: unexpected error while serving a request');
  return json(detail('Internal server error.'), 500);
}

/** 404 for a run that does not exist or that the caller may not see: the two are indistinguishable on purpose. */
export const notFound = () => new NotFoundError('Not found.');
