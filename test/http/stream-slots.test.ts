/**
 * Stream slots are given back on every way a stream ends (client abort, server shutdown, a slow client, HEAD), through
 * the Web handler and the Express and Fastify mounts; a per-user cap answers 429 to the greedy user only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';
import { SseReader } from '../helpers/sse.js';
import { MOUNTS, type Mounted, mount } from './mounts.js';

const USERS = {
  a: { id: 1, username: 'alice' },
  b: { id: 2, username: 'bob' },
  admin: { id: 99, username: 'root', isAdmin: true },
} as const;
type UserKey = keyof typeof USERS;
const getUser = (request: Request) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1] as UserKey | undefined;
  return token && token in USERS ? USERS[token] : null;
};
const auth = (user: UserKey) => ({ authorization: `Bearer ${user}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(MOUNTS)('stream slots through the %s mount', (name) => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let mounted: Mounted;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    mounted = await mount(name, tasks, getUser, { maxStreams: 5, maxStreamsPerUser: 3 });
  });
  afterAll(async () => {
    await mounted?.close();
    await tasks?.close();
  });

  const openStreams = async () => {
    const text = await (await mounted.request('/metrics', { headers: auth('admin') })).text();
    return Number(/^agentcore_task_open_streams (\d+)$/m.exec(text)?.[1]);
  };
  const waitForSlots = async (expected: number) => {
    const deadline = Date.now() + 3000;
    while ((await openStreams()) !== expected && Date.now() < deadline) await sleep(20);
    expect(await openStreams()).toBe(expected);
  };
  const open = async (user: UserKey, path = '/executions/stream/') => {
    const controller = new AbortController();
    const response = await mounted.request(path, { headers: auth(user), signal: controller.signal });
    return { response, controller };
  };

  it('HEAD answers the stream headers with no body and holds no slot', async () => {
    const before = await openStreams();
    for (let i = 0; i < 40; i++) {
      const response = await mounted.request('/executions/stream/', { method: 'HEAD', headers: auth('a') });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(await response.text()).toBe('');
    }
    expect(await openStreams()).toBe(before);
    // The per-user cap is not reached by HEADs either: a real stream still opens.
    const s = await open('a');
    expect(s.response.status).toBe(200);
    s.controller.abort();
    await s.response.body?.cancel().catch(() => {});
    await waitForSlots(before);
    // HEAD keeps the GET's checks: no user → 401, a bad filter → 400.
    expect((await mounted.request('/executions/stream/', { method: 'HEAD' })).status).toBe(401);
    expect(
      (await mounted.request('/executions/stream/?status=NOPE', { method: 'HEAD', headers: auth('a') })).status,
    ).toBe(400);
  });

  it('caps streams per user (429 to that user only) under the global cap, and counts every slot back', async () => {
    const start = await openStreams();
    expect(start).toBe(0);
    const mine = [await open('a'), await open('a'), await open('a')];
    for (const s of mine) expect(s.response.status).toBe(200);
    const greedy = await mounted.request('/executions/stream/', { headers: auth('a') });
    expect(greedy.status).toBe(429);
    expect(greedy.headers.get('retry-after')).toBe('5');
    expect(((await greedy.json()) as { detail: string }).detail).toMatch(/for this user/);
    // Another user is not held back by alice's streams…
    const theirs = [await open('b'), await open('b')];
    for (const s of theirs) expect(s.response.status).toBe(200);
    expect(await openStreams()).toBe(5);
    // …until the global cap, which stays.
    const global = await mounted.request('/executions/stream/', { headers: auth('admin') });
    expect(global.status).toBe(429);
    expect(((await global.json()) as { detail: string }).detail).not.toMatch(/for this user/);
    // Aborting (the client going away) frees each slot, and the user may open again.
    mine[0].controller.abort();
    await mine[0].response.body?.cancel().catch(() => {});
    await waitForSlots(4);
    const again = await open('a');
    expect(again.response.status).toBe(200);
    for (const s of [...mine.slice(1), ...theirs, again]) {
      s.controller.abort();
      await s.response.body?.cancel().catch(() => {});
    }
    await waitForSlots(start);
  });

  it('detail streams count toward the same caps', async () => {
    const run = await tasks.registerTaskExecution({
      taskId: `slot-${name}`,
      taskName: 't',
      module: 'm',
      createdBy: { id: 1 },
    });
    const streams = [await open('a', `/executions/${run!.id}/stream/`), await open('a'), await open('a')];
    for (const s of streams) expect(s.response.status).toBe(200);
    expect((await mounted.request(`/executions/${run!.id}/stream/`, { headers: auth('a') })).status).toBe(429);
    for (const s of streams) {
      s.controller.abort();
      await s.response.body?.cancel().catch(() => {});
    }
    await waitForSlots(0);
  });
});

describe('stream slots on server shutdown and with a client that reads nothing', () => {
  const database = useTestDatabase('sqlite');

  it.each(MOUNTS)('tasks.close() ends every stream through the %s mount', async (name) => {
    const tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    const mounted = await mount(name, tasks, getUser);
    try {
      const readers = [];
      for (const user of ['a', 'a', 'b'] as const) {
        const response = await mounted.request('/executions/stream/', { headers: auth(user) });
        expect(response.status).toBe(200);
        readers.push(new SseReader(response));
      }
      await tasks.close();
      for (const r of readers) await r.until(() => r.ended, 2000, 'the end of the stream');
    } finally {
      await mounted.close();
      await tasks.close();
    }
  });

  it('a client that never reads is closed and its slot freed', async () => {
    const tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    try {
      const handler = createHandler(tasks, { getUser, streamHeartbeatMs: 1, maxStreamsPerUser: 1 });
      const unread = await handler(new Request('http://test/executions/stream/', { headers: auth('a') }));
      expect(unread.status).toBe(200);
      expect((await handler(new Request('http://test/executions/stream/', { headers: auth('a') }))).status).toBe(429);
      // Heartbeats pile up unread until the stream gives up on the client; then the user's slot is free again.
      const deadline = Date.now() + 8000;
      let next: Response | undefined;
      while (Date.now() < deadline) {
        next = await handler(new Request('http://test/executions/stream/', { headers: auth('a') }));
        if (next.status === 200) break;
        await sleep(50);
      }
      expect(next?.status).toBe(200);
      await next?.body?.cancel();
      await unread.body?.cancel().catch(() => {});
    } finally {
      await tasks.close();
    }
  });
});
