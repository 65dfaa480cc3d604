/**
 * `npm run lint:openapi`: writes the OpenAPI document the handler serves to a temporary file and lints it with
 * Redocly (rules in redocly.yaml). Exits with Redocly's status.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNativeHandler } from '../src/http/handler.js';
import { createAgentcoreTask, silentLogger } from '../src/index.js';

const tasks = await createAgentcoreTask({ database: 'sqlite::memory:', logger: silentLogger, realtime: 'memory' });
const dir = mkdtempSync(join(tmpdir(), 'agentcore-task-openapi-'));
let status = 1;
try {
  const handler = createNativeHandler(tasks, {
    prefix: '/api/v1/tasks',
    publicUrl: 'http://localhost:8000',
    getUser: () => ({ id: 1 }),
  });
  const response = await handler(new Request('http://localhost:8000/api/v1/tasks/openapi.json'), undefined);
  const file = join(dir, 'openapi.json');
  writeFileSync(file, await response.text());
  const lint = spawnSync('redocly', ['lint', file, '--config', 'redocly.yaml'], {
    stdio: 'inherit',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  status = lint.status ?? 1;
} finally {
  await tasks.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
