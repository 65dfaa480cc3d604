/**
 * What the Express and Fastify mounts must get right beyond the shared suite: bodies with and without a body parser,
 * nested prefixes, the host's own `req.user`, and Node ↔ Web conversion (streamed bodies, client disconnects,
 * several Set-Cookie headers).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tasksExpress } from '../../src/http/express.js';
import { tasksFastify } from '../../src/http/fastify.js';
import { createHandler } from '../../src/http/handler.js';
import { BufferedResponse, sendWebResponse, toWebRequest } from '../../src/http/node.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { createTestDatabase, useTestDatabase } from '../helpers/databases.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const admin = { id: 99, username: 'root', isAdmin: true };

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: Server) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('Express and Fastify mounts', () => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'memory' });
    await tasks.registerTaskExecution({ taskId: 'mine-1', taskName: 't', module: 'm', createdBy: { id: 99 } });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('Express without a body parser streams the PATCH body through; getUser sees the req.user of host middleware', async () => {
    const app = express();
    app.use((req, _res, next) => {
      (req as express.Request & { user?: unknown }).user = req.headers['x-session'] === 'ok' ? admin : undefined;
      next();
    });
    type WithUser = express.Request & { user?: typeof admin };
    app.use('/tasks', tasksExpress<WithUser>(tasks, { getUser: (_request, req) => req.user ?? null }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tasks`;
    try {
      expect((await fetch(`${base}/config/`)).status).toBe(401);
      const res = await fetch(`${base}/config/`, {
        method: 'PATCH',
        headers: { 'x-session': 'ok', 'content-type': 'application/json' },
        body: JSON.stringify({ retention_days: 12 }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ retention_days: 12 });
      const bad = await fetch(`${base}/config`, {
        method: 'PATCH',
        headers: { 'x-session': 'ok', 'content-type': 'application/json' },
        body: '{oops',
      });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: 'body is not valid JSON', field: 'body' });
      const head = await fetch(`${base}/executions/`, { method: 'HEAD', headers: { 'x-session': 'ok' } });
      expect(head.status).toBe(200);
      expect(await head.text()).toBe('');
    } finally {
      await closeServer(server);
      await tasks.settings.reset();
    }
  });

  it('one Express middleware mounted at two paths serves both, each with its own links', async () => {
    for (let i = 2; i <= 3; i++)
      await tasks.registerTaskExecution({ taskId: `two-${i}`, taskName: 't', module: 'two', createdBy: { id: 99 } });
    const app = express();
    const api = tasksExpress(tasks, { getUser: () => admin });
    app.use('/one', api);
    app.use('/two/deep', api);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const mountPath of ['/one', '/two/deep']) {
        const page = await (await fetch(`${base}${mountPath}/executions/?module=two&page_size=1`)).json();
        expect(page.count).toBe(2);
        expect(page.next).toBe(`${base}${mountPath}/executions/?module=two&page_size=1&page=2`);
        const doc = await (await fetch(`${base}${mountPath}/openapi.json`)).json();
        expect(doc.servers).toEqual([{ url: `${base}${mountPath}` }]);
      }
      expect((await fetch(`${base}/executions/`)).status).toBe(404); // not mounted at the root
    } finally {
      await closeServer(server);
    }
  });

  it('Fastify inside a prefixed plugin serves under the full prefix, with links to match; JSON bodies reach the handler', async () => {
    const app = Fastify();
    await app.register(
      async (outer) => {
        await outer.register(tasksFastify, { tasks, prefix: '/tasks', getUser: () => admin });
        outer.get('/other', async () => ({ other: true })); // the plugin's raw-body parser stays inside it
        outer.post('/echo', async (request) => request.body);
      },
      { prefix: '/outer' },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      for (let i = 2; i <= 3; i++)
        await tasks.registerTaskExecution({ taskId: `mine-${i}`, taskName: 't', module: 'm', createdBy: { id: 99 } });
      const page = await (await fetch(`${base}/outer/tasks/executions?module=m&page_size=2`)).json();
      expect(page.count).toBe(3);
      expect(page.next).toBe(`${base}/outer/tasks/executions?module=m&page_size=2&page=2`);
      expect((await fetch(page.next)).status).toBe(200);
      expect(await (await fetch(`${base}/outer/tasks`)).json()).toEqual({ detail: 'Not found.' });
      const patched = await fetch(`${base}/outer/tasks/config/`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: '{"timeout_minutes": 20}',
      });
      expect(await patched.json()).toMatchObject({ timeout_minutes: 20 });
      expect(await (await fetch(`${base}/outer/other`)).json()).toEqual({ other: true });
      const echo = await fetch(`${base}/outer/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(await echo.json()).toEqual({ a: 1 });
    } finally {
      await app.close();
      await tasks.settings.reset();
    }
  });
});

describe('Node ↔ Web conversion', () => {
  it('streams a response chunk by chunk, and a client that goes away aborts the request signal and cancels the body', async () => {
    let cancelled = false;
    let signal: AbortSignal | undefined;
    let push: ((text: string) => void) | undefined;
    const server = createServer((req, res) => {
      const request = toWebRequest(req, res, { url: `http://local${req.url}` });
      signal = request.signal;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (text) => controller.enqueue(new TextEncoder().encode(text));
          push('event: hello\n\n');
        },
        cancel() {
          cancelled = true;
        },
      });
      void sendWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res);
    });
    const base = await listen(server);
    try {
      const controller = new AbortController();
      const res = await fetch(`${base}/stream`, { signal: controller.signal });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toBe('event: hello\n\n');
      push!('event: again\n\n');
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('event: again\n\n');
      controller.abort();
      await expect.poll(() => cancelled && signal?.aborted).toBe(true);
    } finally {
      await closeServer(server);
    }
  });

  it('keeps each Set-Cookie header, passes request headers and the body', async () => {
    const server = createServer(async (req, res) => {
      const request = toWebRequest(req, res, { url: `http://local${req.url}` });
      const text = await request.text();
      const headers = new Headers({ 'content-type': 'application/json' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      await sendWebResponse(
        new Response(JSON.stringify({ text, cookie: request.headers.get('cookie'), method: request.method }), {
          status: 201,
          headers,
        }),
        res,
      );
    });
    const base = await listen(server);
    try {
      const res = await fetch(`${base}/x`, {
        method: 'PATCH',
        headers: { cookie: 'session=s1; theme=dark' },
        body: 'hello',
      });
      expect(res.status).toBe(201);
      expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(await res.json()).toEqual({ text: 'hello', cookie: 'session=s1; theme=dark', method: 'PATCH' });
    } finally {
      await closeServer(server);
    }
  });
});

describe('Node ↔ Web conversion without a Web stream', () => {
  it('a GET becomes a light Request that still answers everything a Request does', async () => {
    let seen: Record<string, unknown> | undefined;
    const server = createServer(async (req, res) => {
      const request = toWebRequest(req, res, { url: `http://local${req.url}` });
      const copy = request.clone();
      seen = {
        isRequest: request instanceof Request,
        method: request.method,
        url: request.url,
        cookie: request.headers.get('cookie'),
        tags: request.headers.get('x-tag'),
        cache: request.cache,
        bodyUsed: request.bodyUsed,
        text: await request.text(),
        copyUrl: copy.url,
        copyCookie: copy.headers.get('cookie'),
        aborted: request.signal.aborted,
      };
      res.end('ok');
    });
    const base = await listen(server);
    try {
      const headers = new Headers({ cookie: 'session=s1' });
      headers.append('x-tag', 'a');
      headers.append('x-tag', 'b');
      expect(await (await fetch(`${base}/executions/?page=2`, { headers })).text()).toBe('ok');
      expect(seen).toEqual({
        isRequest: true,
        method: 'GET',
        url: 'http://local/executions/?page=2',
        cookie: 'session=s1',
        tags: 'a, b',
        cache: 'default',
        bodyUsed: false,
        text: '',
        copyUrl: 'http://local/executions/?page=2',
        copyCookie: 'session=s1',
        aborted: false,
      });
    } finally {
      await closeServer(server);
    }
  });

  it('writes a BufferedResponse and any other whole body in one piece with its byte length', async () => {
    const text = JSON.stringify({ detail: 'déjà vu ✓' }); // multi-byte: the length is in bytes, not characters
    const server = createServer((req, res) => {
      const response =
        req.url === '/buffered'
          ? new BufferedResponse(text, 404, { 'content-type': 'application/json' })
          : new Response(text, { status: 201, headers: { 'content-type': 'application/json', 'x-extra': '1' } });
      void sendWebResponse(response, res);
    });
    const base = await listen(server);
    try {
      for (const [path, status] of [
        ['/buffered', 404],
        ['/web', 201],
      ] as const) {
        const res = await fetch(`${base}${path}`);
        expect(res.status).toBe(status);
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
        expect(res.headers.get('transfer-encoding')).toBeNull();
        expect(await res.text()).toBe(text);
      }
    } finally {
      await closeServer(server);
    }
  });

  it('the Express mount answers JSON byte for byte as the Web handler does', async () => {
    const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, realtime: 'memory' });
    await tasks.registerTaskExecution({ taskId: 'ünï-1', taskName: 'tâche', module: 'm', createdBy: { id: 99 } });
    const web = createHandler(tasks, { prefix: '/tasks', getUser: () => admin });
    const app = express();
    app.use((_req, res, next) => {
      res.setHeader('access-control-allow-origin', '*'); // a header the host set before the mount is kept
      next();
    });
    app.use('/tasks', tasksExpress(tasks, { getUser: () => admin }));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const path of [
        '/tasks/executions/?my_tasks=false',
        '/tasks/executions/1/',
        `/tasks/executions/status/?task_id=${encodeURIComponent('ünï-1')}&sync=false`,
        '/tasks/executions/stats/',
        '/tasks/executions/999/',
        '/tasks/executions/?status=NOPE',
      ]) {
        const viaExpress = await fetch(`${base}${path}`);
        const viaWeb = await web(new Request(`${base}${path}`));
        expect([path, viaExpress.status]).toEqual([path, viaWeb.status]);
        expect(viaExpress.headers.get('content-type')).toBe(viaWeb.headers.get('content-type'));
        const body = await viaExpress.text();
        expect(body).toBe(await viaWeb.text());
        expect(viaExpress.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
        expect(viaExpress.headers.get('access-control-allow-origin')).toBe('*');
      }
    } finally {
      await closeServer(server);
      await tasks.close();
    }
  });
});

describe('database outage', () => {
  it('answers 503 JSON while PostgreSQL is unreachable, and 200 again once it is back', async () => {
    const db = await createTestDatabase('postgres');
    const proxy = new TcpProxy('127.0.0.1', 5432);
    await proxy.start();
    const url = new URL(db.url);
    url.port = String(proxy.port);
    const tasks = await createAgentcoreTask({
      database: url.toString(),
      logger: silentLogger,
      realtime: 'memory',
      env: {},
    });
    const handler = createHandler(tasks, { getUser: () => admin });
    const get = () => handler(new Request('http://local/executions/?my_tasks=false'));
    try {
      expect((await get()).status).toBe(200);
      await proxy.cut();
      const down = await get();
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({
        detail: expect.stringMatching(/database/i),
        error: expect.stringMatching(/database/i),
      });
      await proxy.restore();
      await expect.poll(async () => (await get()).status, { timeout: 10_000 }).toBe(200);
    } finally {
      await tasks.close();
      await proxy.close();
      await db.drop();
    }
  });
});
