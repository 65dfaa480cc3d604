/**
 * Every real answer matches the OpenAPI document: its status is declared for the operation, its media type is the
 * declared one, and a JSON body passes the declared schema with no key the schema does not know (errors included:
 * 400, 401, 403, 404, 413, 415, 429, 503).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createNativeHandler } from '../../src/http/handler.js';
import type { RouteDoc } from '../../src/http/openapi.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { useTestDatabase } from '../helpers/databases.js';

const USERS = {
  a: { id: 1, username: 'alice' },
  admin: { id: 99, username: 'root', isAdmin: true },
} as const;
const getUser = (request: Request) => {
  const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1];
  return token === 'a' ? USERS.a : token === 'admin' ? USERS.admin : null;
};

/** Every object key of `value` that `parsed` (the schema's output) lost: keys the schema does not declare. */
function unknownKeys(value: unknown, parsed: unknown, path = '$'): string[] {
  if (Array.isArray(value) && Array.isArray(parsed))
    return value.flatMap((v, i) => unknownKeys(v, parsed[i], `${path}[${i}]`));
  if (value && typeof value === 'object' && parsed && typeof parsed === 'object') {
    const out: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (!(k in parsed)) out.push(`${path}.${k}`);
      else out.push(...unknownKeys(v, (parsed as Record<string, unknown>)[k], `${path}.${k}`));
    }
    return out;
  }
  return [];
}

describe('answers match the OpenAPI document', () => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let handler: ReturnType<typeof createNativeHandler<undefined>>;
  let routes: readonly RouteDoc[];
  let mine: number;
  let theirs: number;

  beforeAll(async () => {
    tasks = await createAgentcoreTask({
      database: database.url,
      logger: silentLogger,
      realtime: 'memory',
      onRecordError: 'throw',
    });
    handler = createNativeHandler(tasks, { getUser, maxStreamsPerUser: 1, maxBodyBytes: 64 });
    routes = handler.app.routes;
    mine = (await tasks.registerTaskExecution({ taskId: 'oa-1', taskName: 't', module: 'm', createdBy: { id: 1 } }))!
      .id;
    theirs = (await tasks.registerTaskExecution({ taskId: 'oa-2', taskName: 't', module: 'm', createdBy: { id: 2 } }))!
      .id;
    await tasks.tracker.updateTaskStatus('oa-1', 'SUCCESS', { result: { ok: true } });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  /** The operation a path answers, found the way the router matches it. */
  function operation(method: string, path: string): RouteDoc {
    const bare = path.split('?')[0].replace(/\/$/, '');
    const found = routes.find(
      (r) =>
        r.method === method.toLowerCase() &&
        new RegExp(`^${r.path.replace(/\/$/, '').replace(/\{\w+\}/g, '[^/]+')}$`).test(bare),
    );
    if (!found) throw new Error(`no operation for ${method} ${path}`);
    return found;
  }

  const cases: Array<[string, string, string | null, RequestInit?]> = [
    ['GET', '/executions/', 'a'],
    ['GET', '/executions/?my_tasks=false', 'admin'],
    ['GET', '/executions/?status=NOPE', 'a'],
    ['GET', '/executions/', null],
    ['GET', '/executions/?my_tasks=false', 'a'],
    ['GET', '/executions/?page=99', 'a'],
    ['GET', '/executions/my-tasks/', 'a'],
    ['GET', '/executions/stats/?granularity=day', 'a'],
    ['GET', '/executions/stats/?created_by=2', 'a'],
    ['GET', '/executions/status/?task_id=oa-1&sync=false', 'a'],
    ['GET', '/executions/status/', 'a'],
    ['GET', '/executions/status/?task_id=oa-2', 'a'],
    ['GET', '/executions/by-task-id/oa-1/?sync=false', 'a'],
    ['GET', '/executions/by-task-id/oa-1/', null],
    ['GET', '/executions/{mine}/', 'a'],
    ['GET', '/executions/{theirs}/', 'a'],
    ['GET', '/executions/abc/', 'a'],
    ['POST', '/executions/{mine}/sync/', 'a'],
    ['POST', '/executions/{theirs}/sync/', 'a'],
    ['GET', '/config/', 'a'],
    ['GET', '/config/', null],
    ['PATCH', '/config/', 'a', { body: '{}', headers: { 'content-type': 'application/json' } }],
    ['PATCH', '/config/', 'admin', { body: '{"retention_days": 0}', headers: { 'content-type': 'application/json' } }],
    ['PATCH', '/config/', 'admin', { body: '{"retention_days": 9}', headers: { 'content-type': 'application/json' } }],
    ['PATCH', '/config/', 'admin', { body: '{"retention_days": 9}', headers: { 'content-type': 'text/plain' } }],
    [
      'PATCH',
      '/config/',
      'admin',
      { body: `{"x":"${'y'.repeat(100)}"}`, headers: { 'content-type': 'application/json' } },
    ],
    [
      'PATCH',
      '/config/',
      'admin',
      {
        body: '{"retention_days": 9}',
        headers: { 'content-type': 'application/json', cookie: 's=1', origin: 'https://evil' },
      },
    ],
    ['GET', '/locks/', 'admin'],
    ['GET', '/locks/', 'a'],
    ['GET', '/metrics', 'admin'],
    ['GET', '/metrics', 'a'],
    ['GET', '/metrics', null],
    ['GET', '/openapi.json', 'a'],
    ['GET', '/openapi.json', null],
    ['GET', '/healthz', null],
    ['GET', '/readyz', null],
    ['GET', '/executions/stream/', null],
    ['GET', '/executions/stream/?status=NOPE', 'a'],
    ['GET', '/executions/stream/?my_tasks=false', 'a'],
    ['GET', '/executions/{theirs}/stream/', 'a'],
    ['GET', '/dashboard/', null],
  ];

  it.each(cases)('%s %s as %s', async (method, rawPath, user, init = {}) => {
    const path = rawPath.replace('{mine}', String(mine)).replace('{theirs}', String(theirs));
    const op = operation(method, path);
    const headers = new Headers(init.headers);
    if (user) headers.set('authorization', `Bearer ${user}`);
    const response = await handler(new Request(`http://test${path}`, { ...init, method, headers }), undefined);
    const declared = op.responses[response.status];
    expect(declared, `${response.status} is not declared for ${op.operationId}`).toBeDefined();
    const type = response.headers.get('content-type') ?? '';
    if (declared.schema) {
      expect(type).toMatch(/^application\/json/);
      const body = await response.json();
      const parsed = (declared.schema as z.ZodType).safeParse(body);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(unknownKeys(body, parsed.data)).toEqual([]);
    } else if (declared.contentType) {
      expect(type.split(';')[0]).toBe(declared.contentType.split(';')[0]);
      await response.body?.cancel();
    }
  });

  it('a stream over the per-user cap answers the declared 429', async () => {
    const open = await handler(
      new Request('http://test/executions/stream/', { headers: { authorization: 'Bearer a' } }),
      undefined,
    );
    const refused = await handler(
      new Request('http://test/executions/stream/', { headers: { authorization: 'Bearer a' } }),
      undefined,
    );
    const op = operation('GET', '/executions/stream/');
    expect(refused.status).toBe(429);
    const body = await refused.json();
    const parsed = (op.responses[429].schema as z.ZodType).safeParse(body);
    expect(parsed.success).toBe(true);
    expect(unknownKeys(body, parsed.data)).toEqual([]);
    await open.body?.cancel();
  });

  it('declares every {parameter} of every path', async () => {
    const doc = (await (
      await handler(new Request('http://test/openapi.json', { headers: { authorization: 'Bearer a' } }), undefined)
    ).json()) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>> };
    for (const [path, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops))
        for (const [, name] of path.matchAll(/\{(\w+)\}/g))
          expect(
            op.parameters?.some((p) => p.in === 'path' && p.name === name),
            `${method} ${path} declares {${name}}`,
          ).toBe(true);
  });
});
