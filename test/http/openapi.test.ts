/**
 * `openapi.json` is generated from the validating schemas and describes every route the sub-app registers,
 * including routes other modules add (streams, metrics, dashboard).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNativeHandler } from '../../src/http/handler.js';
import { routeKey } from '../../src/http/openapi.js';
import { listQuerySchema, statsQuerySchema } from '../../src/http/schemas.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger, TaskStatus } from '../../src/index.js';
import { ORDERING_FIELDS } from '../../src/types.js';

const PREFIX = '/api/v1/tasks';
type Operation = {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
};

describe('OpenAPI document', () => {
  let tasks: AgentcoreTask;
  let handler: ReturnType<typeof createNativeHandler<undefined>>;
  let doc: {
    openapi: string;
    servers: Array<{ url: string }>;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };

  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, realtime: 'memory' });
    handler = createNativeHandler(tasks, { prefix: PREFIX, getUser: () => ({ id: 1 }) });
    const res = await handler(new Request(`https://example.com${PREFIX}/openapi.json`), undefined);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it('is OpenAPI 3.1 with the mount URL as its server', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers).toEqual([{ url: `https://example.com${PREFIX}` }]);
  });

  it('describes every route the app registers, and nothing it does not', () => {
    const registered = handler.app.app.routes
      .filter((r) => r.method !== 'ALL') // middleware
      .map((r) => routeKey(r.method, r.path.slice(PREFIX.length)));
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => routeKey(m, path)),
    );
    expect(registered.length).toBeGreaterThanOrEqual(11);
    expect(new Set(documented)).toEqual(new Set(registered));
    for (const key of [
      'GET /executions',
      'GET /executions/my-tasks',
      'GET /executions/{id}',
      'GET /executions/by-task-id/{task_id}',
      'GET /executions/status',
      'POST /executions/{id}/sync',
      'GET /executions/stats',
      'GET /config',
      'PATCH /config',
      'GET /locks',
      'GET /openapi.json',
    ])
      expect(documented).toContain(key);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((op) => op.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('takes parameters from the same zod schemas that validate requests', () => {
    const list = doc.paths['/executions/'].get;
    const names = list.parameters!.map((p) => p.name);
    for (const key of Object.keys(listQuerySchema.shape)) expect(names).toContain(key);
    expect(names).toContain('metadata.<key>');
    const param = (op: Operation, name: string) => op.parameters!.find((p) => p.name === name)!.schema;
    expect(param(list, 'status').enum).toEqual([...TaskStatus.all]);
    expect(param(list, 'ordering').enum).toEqual([...ORDERING_FIELDS, ...ORDERING_FIELDS.map((f) => `-${f}`)]);
    expect(param(list, 'page')).toMatchObject({ type: 'integer', minimum: 1 });
    expect(param(list, 'my_tasks')).toEqual({ type: 'boolean' });
    const stats = doc.paths['/executions/stats/'].get;
    expect(stats.parameters!.map((p) => p.name).sort()).toEqual(Object.keys(statsQuerySchema.shape).sort());
    expect(param(stats, 'granularity').enum).toEqual(['day', 'month', 'year']);
    const detail = doc.paths['/executions/{id}/'].get;
    expect(detail.parameters!.find((p) => p.name === 'id')).toMatchObject({ in: 'path', required: true });
  });

  it('documents include_metadata and metadata_fields on every route answering one run, as on the list', () => {
    const list = doc.paths['/executions/'].get;
    const param = (op: Operation, name: string) => op.parameters?.find((p) => p.name === name && p.in === 'query');
    const one = [
      doc.paths['/executions/{id}/'].get,
      doc.paths['/executions/by-task-id/{task_id}/'].get,
      doc.paths['/executions/status/'].get,
      doc.paths['/executions/{id}/sync/'].post,
    ];
    for (const op of [list, doc.paths['/executions/my-tasks/'].get, ...one]) {
      expect(param(op, 'include_metadata'), op.operationId).toMatchObject({
        required: false,
        schema: { type: 'boolean' },
      });
      expect(param(op, 'metadata_fields'), op.operationId).toMatchObject({
        required: false,
        schema: { type: 'string' },
      });
      // One definition: the same description everywhere.
      expect(param(op, 'include_metadata')).toEqual(param(list, 'include_metadata'));
      expect(param(op, 'metadata_fields')).toEqual(param(list, 'metadata_fields'));
    }
    for (const op of one) expect(op.responses['400']).toBeDefined();
    // The detail answer may carry `metadata: null` (include_metadata=false).
    const detail = doc.components.schemas.ExecutionDetail as { properties: { metadata: Record<string, unknown> } };
    expect(JSON.stringify(detail.properties.metadata)).toMatch(/"null"/);
    expect(detail.properties.metadata.description).toMatch(/include_metadata=false/);
  });

  it('resolves every $ref to a component schema', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const name = ref.slice('"$ref":"#/components/schemas/'.length, -1);
      expect(doc.components.schemas, ref).toHaveProperty(name);
    }
    const page = doc.components.schemas.ExecutionPage as { properties: Record<string, unknown> };
    expect(Object.keys(page.properties)).toEqual(['count', 'count_is_exact', 'next', 'previous', 'results']);
  });
});
