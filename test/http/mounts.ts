/**
 * The three ways a host serves the API, behind one interface, so the same suite runs through each: the Web handler
 * called directly, Express on a real loopback server, and Fastify on a real loopback server.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import type { AgentcoreTask } from '../../src/create.js';
import type { HandlerOptions, HttpUser } from '../../src/http/context.js';
import { tasksExpress } from '../../src/http/express.js';
import { tasksFastify } from '../../src/http/fastify.js';
import { createHandler } from '../../src/http/handler.js';

export const PREFIX = '/api/v1/tasks';
export const MOUNTS = ['web', 'express', 'fastify'] as const;
export type MountName = (typeof MOUNTS)[number];

export interface Mounted {
  /** `path` is relative to the prefix, e.g. `/executions/?page=2`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** An absolute URL the API returned (`next`, `previous`). */
  requestUrl(url: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
  /** What `getUser` received as the native request in the last call (Express/Fastify mounts). */
  lastNative: unknown;
}

export type TestGetUser = (request: Request) => HttpUser | null;

/** Handler options a test may add to a mount (everything but `getUser` and `prefix`). */
export type MountOptions = Omit<HandlerOptions<unknown>, 'getUser' | 'prefix'>;

export async function mount(
  name: MountName,
  tasks: AgentcoreTask,
  getUser: TestGetUser,
  options: MountOptions = {},
): Promise<Mounted> {
  const state: { lastNative: unknown } = { lastNative: undefined };
  const spy = (request: Request, native: unknown) => {
    state.lastNative = native;
    return getUser(request);
  };
  if (name === 'web') {
    const handler = createHandler(tasks, {
      ...(options as HandlerOptions),
      prefix: PREFIX,
      getUser: spy as (r: Request) => HttpUser | null,
    });
    return {
      request: (path, init) => handler(new Request(`http://tasks.test${PREFIX}${path}`, init)),
      requestUrl: (url, init) => handler(new Request(url, init)),
      close: async () => {},
      get lastNative() {
        return state.lastNative;
      },
    };
  }
  if (name === 'express') {
    const app = express();
    app.use(express.json()); // the mount must cope with a body a parser already read
    app.use(PREFIX, tasksExpress(tasks, { ...options, getUser: spy }));
    // A route of the host after the mount: paths the API does not know must reach it.
    app.get(`${PREFIX}/host-route`, (_req, res) => {
      res.json({ host: true });
    });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return networkMount(server, state, async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
  }
  // Closing ends every connection, as the Express mount's does (a client may hold one open that never sent a request).
  const app = Fastify({ forceCloseConnections: true });
  await app.register(tasksFastify, { ...options, tasks, prefix: PREFIX, getUser: spy });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return networkMount(app.server, state, () => app.close());
}

function networkMount(server: Server, state: { lastNative: unknown }, close: () => Promise<unknown>): Mounted {
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    request: (path, init) => fetch(`${base}${PREFIX}${path}`, init),
    requestUrl: (url, init) => fetch(url, init),
    close: async () => {
      await close();
    },
    get lastNative() {
      return state.lastNative;
    },
  };
}
