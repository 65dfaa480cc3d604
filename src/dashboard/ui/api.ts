/**
 * Talks to the REST API the dashboard is served by. The API root is the parent of `dashboard/`, so the dashboard works
 * under whatever prefix the host mounted the handler at.
 */

import { createStore } from './store.js';

const TOKEN_KEY = 'agentcore-task.token';

/**
 * Whether the server answered the last request: `down` after a request failed at the network level (server stopped,
 * connection lost), `up` again after any answer. The shell shows a plain-words banner while it is down.
 */
export const connection = createStore<'up' | 'down'>('up');

/** The API root, e.g. `https://host/api/v1/tasks/`. */
export const apiRoot = new URL('../', window.location.href.split('#')[0]);

/** The bearer token, from this tab (sessionStorage) or remembered (localStorage). Empty: rely on cookies. */
export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? localStorage.getItem(TOKEN_KEY) ?? '';
}

export function setToken(token: string, remember: boolean): void {
  clearToken();
  (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
}

/**
 * An answer other than 2xx, with the API's message (`{ error, field }` or `{ detail }`); status 0 when the server
 * could not be reached at all (views retry those by themselves).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

/** Builds `path?query` relative to the API root, dropping empty values. */
export function apiUrl(path: string, query: Record<string, string | undefined> = {}): URL {
  const url = new URL(path, apiRoot);
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') url.searchParams.set(key, value);
  return url;
}

/** JSON request to the API. Cookies go along (`same-origin`), so a host's session works without a token. */
export async function api<T>(
  path: string,
  options: { method?: string; query?: Record<string, string | undefined> } = {},
): Promise<T> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(apiUrl(path, options.query), {
      method: options.method ?? 'GET',
      headers: headers({ Accept: 'application/json' }),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    text = await response.text();
  } catch {
    // fetch rejects only when no answer came (the raw message is "Failed to fetch": meaningless to a reader).
    connection.set('down');
    throw new ApiError(0, 'unreachable');
  }
  connection.set('up');
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const b = (body ?? {}) as { error?: string; detail?: string; field?: string };
    throw new ApiError(response.status, b.error ?? b.detail ?? `${response.status} ${response.statusText}`, b.field);
  }
  return body as T;
}

/**
 * Downloads a file answer of the API (an export) and hands it to the browser as a download named by the server's
 * `Content-Disposition`. Fetched rather than linked, because a link cannot carry the bearer token. Returns the name.
 */
export async function downloadFile(path: string, query: Record<string, string | undefined>): Promise<string> {
  let response: Response;
  let blob: Blob;
  try {
    response = await fetch(apiUrl(path, query), {
      headers: headers(),
      credentials: 'same-origin',
      cache: 'no-store',
    });
    blob = await response.blob();
  } catch {
    connection.set('down');
    throw new ApiError(0, 'unreachable');
  }
  connection.set('up');
  if (!response.ok) {
    let b: { error?: string; detail?: string; field?: string } = {};
    try {
      b = JSON.parse(await blob.text());
    } catch {
      // Not JSON: the status line says enough.
    }
    throw new ApiError(response.status, b.error ?? b.detail ?? `${response.status} ${response.statusText}`, b.field);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'export';
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The browser has taken the file by then; the object URL would otherwise hold the blob until the page closes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/** One server-sent event. */
export interface StreamEvent {
  event: string;
  data: string;
  id: string;
}

/**
 * Reads a server-sent event stream with `fetch` instead of `EventSource`, because `EventSource` cannot send the
 * `Authorization` header (and a token in the URL would end up in access logs). Reconnects with backoff and resumes
 * with `Last-Event-ID`. Returns a function that stops it.
 */
export function openStream(
  path: string,
  query: Record<string, string | undefined>,
  onEvent: (event: StreamEvent) => void,
  onState: (state: 'live' | 'reconnecting' | 'closed') => void,
): () => void {
  const controller = new AbortController();
  let lastId = '';
  let attempt = 0;
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(apiUrl(path, query), {
          headers: headers(
            lastId ? { Accept: 'text/event-stream', 'Last-Event-ID': lastId } : { Accept: 'text/event-stream' },
          ),
          credentials: 'same-origin',
          signal: controller.signal,
          cache: 'no-store',
        });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          onState('closed');
          return;
        }
        connection.set('up');
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        onState('live');
        attempt = 0;
        await readEvents(response.body, (event) => {
          if (event.id) lastId = event.id;
          onEvent(event);
        });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof TypeError) connection.set('down');
      }
      onState('reconnecting');
      const delay = Math.min(10_000, 500 * 2 ** attempt++);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  void run();
  return () => {
    controller.abort();
  };
}

/** Parses the `text/event-stream` format (fields `event`, `data`, `id`; comments ignored). */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: StreamEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = { event: '', data: [] as string[], id: '' };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    // A chunk may end between the CR and LF of one line ending: keep a trailing CR for the next chunk.
    const held = buffer.endsWith('\r') ? '\r' : '';
    const lines = (held ? buffer.slice(0, -1) : buffer).split(/\r\n|\r|\n/);
    buffer = (lines.pop() ?? '') + held;
    for (const line of lines) {
      if (line === '') {
        if (event.data.length > 0)
          onEvent({ event: event.event || 'message', data: event.data.join('\n'), id: event.id });
        event = { event: '', data: [], id: event.id };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const raw = colon === -1 ? '' : line.slice(colon + 1);
      const text = raw.startsWith(' ') ? raw.slice(1) : raw;
      if (field === 'event') event.event = text;
      else if (field === 'data') event.data.push(text);
      else if (field === 'id') event.id = text;
    }
  }
}
