import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { DIALECTS, useTestDatabase } from '../helpers/databases.js';

// Found by the fault suite's random requests: a NUL reached PostgreSQL ("invalid byte sequence") and was a 500.
describe.each(DIALECTS)('a NUL character in a request is a 400 naming the parameter (%s)', (dialect) => {
  const db = useTestDatabase(dialect);
  let tasks: AgentcoreTask;
  let handle: (path: string) => Promise<{ status: number; body: Record<string, unknown> }>;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: db.url, realtime: false, logger: silentLogger, env: {} });
    await tasks.registerTaskExecution({ taskId: 't1', taskName: 'job', module: 'm', createdBy: { id: 1 } });
    const handler = tasks.handler({ getUser: () => ({ id: 1 }) });
    handle = async (path) => {
      const response = await handler(new Request(`http://x${path}`));
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
  });
  afterAll(async () => {
    await tasks.close();
  });

  it.each([
    ['/executions/?search=%00', 'search'],
    ['/executions/?module=a%00b', 'module'],
    ['/executions/?task_name=%00', 'task_name'],
    ['/executions/?metadata.tenant=x%00', 'metadata.tenant'],
    ['/executions/my-tasks/?search=%00', 'search'],
    ['/executions/stats/?module=%00', 'module'],
    ['/executions/status/?task_id=%00&sync=false', 'task_id'],
    ['/executions/by-task-id/a%00b/?sync=false', 'path'],
    ['/executions/?a%00=1', 'query'],
    ['/executions/?search=a\u0000b', 'search'], // a raw NUL: the URL parser percent-encodes it
  ])('%s', async (path, field) => {
    const { status, body } = await handle(path);
    expect(status).toBe(400);
    expect(body.field).toBe(field);
  });

  it('still answers the same requests without the NUL', async () => {
    expect((await handle('/executions/?search=t1')).body.count).toBe(1);
    expect((await handle('/executions/status/?task_id=t1&sync=false')).status).toBe(200);
  });
});
