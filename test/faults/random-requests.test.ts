/**
 * 2,000 random and malformed requests over real HTTP, across every route and parameter, as three different
 * (non-admin) users and as nobody: no response is a 5xx, and no response carries a run, a task id, a module or a
 * task name of another user (runs of the other users, of an admin, with no creator, and with look-alike creator ids
 * such as `0101` for user `101` are all in the table). The configuration is unchanged at the end (PATCH is for
 * admins), and no asset path escapes the dashboard folder. The seed is printed, for a replay.
 */
import type { Server } from 'node:http';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, type HttpUser, silentLogger, TaskStatus } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const REQUESTS = 2000;
const CONCURRENCY = 8;
/** Fixed by default so CI is reproducible; `FAULTS_SEED=<n>` replays a run, `FAULTS_SEED=random` explores. */
const SEED =
  process.env.FAULTS_SEED === 'random' ? Date.now() % 1_000_000 : Number(process.env.FAULTS_SEED ?? 20_260_601);

/** The three users the requests come from, and who else owns runs. */
const USERS: Record<string, HttpUser> = {
  'token-alice': { id: 101, username: 'alice' },
  'token-bob': { id: 102, username: 'bob' },
  'token-carol': { id: 'u-carol', username: 'carol' },
};
/** Owner tag → creator id as stored (null: a system run). */
const OWNERS: Record<string, string | number | null> = {
  alice: 101,
  bob: 102,
  carol: 'u-carol',
  admin: 999,
  system: null,
  lookalike0101: '0101',
  lookalikeCAROL: 'U-CAROL',
  lookalike1010: 1010,
};

/** mulberry32: a small seeded generator, so a failing run can be replayed with FAULTS_SEED. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    chance: (p: number) => next() < p,
  };
}

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/** One request; a stream is read only up to its headers and first bytes, then dropped. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, timeout: 15_000 }, (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      let text = '';
      res.setEncoding('utf8');
      if (contentType.startsWith('text/event-stream')) {
        res.once('data', (chunk) => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, contentType, body: String(chunk) });
        });
        return;
      }
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('2,000 random and malformed requests as three users', () => {
  let db: TestDatabase;
  let tasks: AgentcoreTask;
  let server: Server;
  let port: number;
  /** task_id → owner tag; id → owner tag. */
  const ownerOfTask = new Map<string, string>();
  const ownerOfId = new Map<number, string>();
  const idsOf = new Map<string, number[]>();
  const taskIdsOf = new Map<string, string[]>();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    tasks = await createAgentcoreTask({ database: db.url, logger: silentLogger, env: {} });
    let n = 0;
    for (const [tag, creator] of Object.entries(OWNERS)) {
      for (let i = 0; i < 12; i++) {
        const taskId = `task_${tag}_${i}`;
        const run = await tasks.registerTaskExecution({
          taskId,
          taskName: `name_${tag}_${i % 3}`,
          module: `mod_${tag}_${i % 2}`,
          createdBy: creator === null ? null : { id: creator, username: tag },
          metadata: { tenant: i % 2 ? 'acme' : 'globex', n: i },
          taskKwargs: { i },
        });
        const status = TaskStatus.all[(n++ + i) % TaskStatus.all.length];
        if (status !== 'PENDING')
          await tasks.tracker.updateTaskStatus(taskId, status, {
            result: { owner: tag },
            error: status === 'FAILURE' ? `failed ${tag}` : undefined,
          });
        ownerOfTask.set(taskId, tag);
        ownerOfId.set(run!.id, tag);
        idsOf.set(tag, [...(idsOf.get(tag) ?? []), run!.id]);
        taskIdsOf.set(tag, [...(taskIdsOf.get(tag) ?? []), taskId]);
      }
    }
    const handler = tasks.handler({
      prefix: '/api/v1/tasks',
      getUser: (request) => USERS[(request.headers.get('authorization') ?? '').replace(/^Bearer /, '')] ?? null,
    });
    server = createAdaptorServer({ fetch: handler }) as Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await tasks?.close();
    await db?.drop();
  });

  it('answers no 5xx and never shows a row of another user', async () => {
    const r = prng(SEED);
    const configBefore = await tasks.settings.get();
    const tags = [...idsOf.keys()];
    const anyId = () =>
      r.pick([
        String(r.pick(idsOf.get(r.pick(tags))!)),
        '0',
        '-1',
        'abc',
        '1.5',
        '1e2',
        '99999999999999999999999',
        '2147483648',
        '%20',
        '%00',
        '',
        String(Math.max(...ownerOfId.keys()) + 1000),
      ]);
    const anyTaskId = () =>
      r.pick([
        r.pick(taskIdsOf.get(r.pick(tags))!),
        'missing',
        '..',
        '%2e%2e',
        '%2F',
        'a%2Fb',
        '%',
        '%zz',
        encodeURIComponent('☃ snow'),
        'x'.repeat(300),
        "'%20OR%201=1--",
      ]);
    const values = [
      '',
      'x',
      '0',
      '1',
      '-1',
      '101',
      '102',
      '999',
      'u-carol',
      '0101',
      '1e3',
      '1.5',
      'NaN',
      'true',
      'false',
      'TRUE',
      'null',
      'undefined',
      '[]',
      '{}',
      '%',
      '%zz',
      '%00',
      '%E0%A4%A',
      encodeURIComponent("' OR 1=1 --"),
      encodeURIComponent('<script>alert(1)</script>'),
      encodeURIComponent('☃'),
      'a'.repeat(3000),
      '99999999999999999999',
      '2024-13-45',
      '2024-02-30',
      '2024-01-01',
      '2024-01-01T00:00:00Z',
      '2024-01-01T25:00',
      'yesterday',
      ...TaskStatus.all,
      'pending',
      'PENDING,SUCCESS',
      'created_at',
      '-created_at',
      '-started_at',
      'id',
      '--created_at',
      'task_name',
      'day',
      'month',
      'year',
      'week',
      'mod_alice_0',
      'mod_bob_1',
      'name_carol_2',
      'acme',
      'task_bob_1',
      '__proto__',
      'constructor',
    ];
    const params = [
      'module',
      'task_name',
      'status',
      'created_by',
      'my_tasks',
      'start_date',
      'end_date',
      'search',
      'ordering',
      'page',
      'page_size',
      'include_metadata',
      'metadata_fields',
      'task_id',
      'sync',
      'granularity',
      'metadata.tenant',
      'metadata.n',
      'metadata.a-b',
      'metadata.__proto__',
      `metadata.${'k'.repeat(300)}`,
      'metadata.',
      'unknown',
      '__proto__',
      'page[]',
    ];
    const routes: Array<() => [method: string, path: string]> = [
      () => ['GET', '/executions/'],
      () => ['GET', '/executions/my-tasks/'],
      () => ['GET', `/executions/${anyId()}/`],
      () => ['GET', `/executions/by-task-id/${anyTaskId()}/`],
      () => ['GET', '/executions/status/'],
      () => ['POST', `/executions/${anyId()}/sync/`],
      () => ['GET', '/executions/stats/'],
      () => ['GET', '/config/'],
      () => ['PATCH', '/config/'],
      () => ['GET', '/executions/stream/'],
      () => ['GET', `/executions/${anyId()}/stream/`],
      () => ['GET', '/openapi.json'],
      () => ['GET', '/metrics'],
      () => ['GET', '/locks/'],
      () => ['GET', '/dashboard/'],
      () => [
        'GET',
        `/dashboard/assets/${r.pick(['app.js', 'app.css', '..%2F..%2Fpackage.json', '%2e%2e', 'nope.js', '.env'])}`,
      ],
      () => [
        r.pick(['DELETE', 'PUT', 'OPTIONS', 'HEAD', 'TRACE']),
        r.pick(['/executions/', '/config/', '/executions/1/']),
      ],
      () => ['GET', r.pick(['/executions//', '/executions/1/2/3/', '/../../etc/passwd', '/executions/%', '/nope'])],
    ];
    const bodies = [
      '{',
      '[]',
      'null',
      '""',
      '{"retention_days": -1}',
      '{"retention_days": 7}',
      '{"timeout_minutes": "abc"}',
      '{"cleanup_crontab": "* * *"}',
      '{"__proto__": {"polluted": true}}',
      JSON.stringify({ retention_days: 1, x: 'y'.repeat(10_000) }),
    ];

    type Outcome = { status: number; what: string };
    const outcomes: Outcome[] = [];
    const violations: string[] = [];
    const requests = Array.from({ length: REQUESTS }, () => {
      const [method, route] = r.pick(routes)();
      const query: string[] = [];
      const count = r.pick([0, 0, 1, 1, 2, 3, 5]);
      for (let k = 0; k < count; k++) query.push(`${r.pick(params)}=${r.pick(values)}`);
      if (route.startsWith('/executions/status/') && r.chance(0.7)) query.push(`task_id=${anyTaskId()}`);
      const path = `${r.chance(0.03) ? '/api/v1/task' : '/api/v1/tasks'}${r.chance(0.1) ? route.replace(/\/$/, '') : route}${query.length ? `?${query.join('&')}` : ''}`;
      const token = r.chance(0.1) ? r.pick(['', 'nobody', 'token-alicex', 'TOKEN-ALICE']) : r.pick(Object.keys(USERS));
      const headers: Record<string, string> = {};
      if (token !== '' || r.chance(0.5)) headers.authorization = `Bearer ${token}`;
      if (r.chance(0.1)) headers['last-event-id'] = r.pick(['0', '-5', 'abc', '99999999999999999999']);
      let body: string | undefined;
      if (method === 'PATCH' || method === 'POST' || (method === 'PUT' && r.chance(0.5))) {
        body = r.pick(bodies);
        headers['content-type'] = r.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']);
      }
      return { method, path, headers, body, user: USERS[token] };
    });

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < requests.length; i = next++) {
          const q = requests[i];
          const what = `#${i} ${q.method} ${q.path.slice(0, 200)} as ${q.user?.username ?? 'nobody'}`;
          let reply: Reply;
          try {
            reply = await send(port, q.method, q.path, q.headers, q.body);
          } catch (error) {
            violations.push(`${what}: request failed: ${(error as Error).message}`);
            continue;
          }
          outcomes.push({ status: reply.status, what });
          if (reply.status >= 500)
            violations.push(`${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)} (${q.path.slice(-120)})`);
          if (reply.body.includes('"name": "agentcore-task"') || reply.body.includes('root:x:0:0'))
            violations.push(`${what}: served a file outside the dashboard assets`);
          // The OpenAPI document describes the fields (it has `created_by_id` as a schema); HEAD has no body.
          if (!reply.contentType.includes('json') || !q.user || q.method === 'HEAD' || q.path.includes('openapi.json'))
            continue;
          let json: unknown;
          try {
            json = JSON.parse(reply.body);
          } catch {
            violations.push(`${what}: invalid JSON body`);
            continue;
          }
          const own = q.user;
          const ownTag = String(own.username);
          // Walk the response: any run, task id, module or task name must be the caller's own.
          const walk = (value: unknown, key: string | undefined): void => {
            if (Array.isArray(value)) {
              for (const v of value) walk(v, undefined);
              return;
            }
            if (value === null || typeof value !== 'object') {
              if (typeof value === 'string' && (key === 'task_id' || key === 'module' || key === 'task_name')) {
                const tag = /^(?:task|mod|name)_([A-Za-z0-9]+)_/.exec(value)?.[1];
                if (tag && tag !== ownTag) violations.push(`${what}: ${key} ${value} of ${tag}`);
              }
              return;
            }
            const object = value as Record<string, unknown>;
            for (const field of ['created_by_id', 'created_by'] as const) {
              if (field in object && String(object[field]) !== String(own.id))
                violations.push(`${what}: ${field} ${JSON.stringify(object[field])}`);
            }
            if (typeof object.id === 'number' && 'task_id' in object) {
              const owner = ownerOfId.get(object.id);
              if (owner && owner !== ownTag) violations.push(`${what}: run #${object.id} of ${owner}`);
            }
            for (const [k, v] of Object.entries(object)) {
              if ((k === 'by_module' || k === 'by_task_name') && v && typeof v === 'object') {
                for (const name of Object.keys(v)) walk(name, k === 'by_module' ? 'module' : 'task_name');
              }
              walk(v, k);
            }
            if (typeof object.total === 'number' && object.total > (idsOf.get(ownTag)?.length ?? 0))
              violations.push(`${what}: stats total ${object.total} exceeds the caller's runs`);
          };
          walk(json, undefined);
        }
      }),
    );

    const byStatus = new Map<number, number>();
    for (const o of outcomes) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    console.log(`random requests (seed ${SEED}):`, Object.fromEntries([...byStatus].sort((a, b) => a[0] - b[0])));
    expect(violations, `seed ${SEED}`).toEqual([]);
    expect(outcomes).toHaveLength(REQUESTS);
    // Not vacuous: plenty of requests got through to real answers, and the bad ones were refused as bad.
    expect(byStatus.get(200) ?? 0).toBeGreaterThan(REQUESTS * 0.2);
    expect(byStatus.get(400) ?? 0).toBeGreaterThan(REQUESTS * 0.05);
    expect(byStatus.get(401) ?? 0).toBeGreaterThan(0);
    expect(await tasks.settings.get()).toEqual(configBefore);
  });
});
