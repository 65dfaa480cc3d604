/**
 * The read-path benchmark's second baseline: the least an HTTP API can do for the same data. A bare `node:http`
 * server that runs the given SQL statements through `pg` (same pool size as the library) and sends the rows as
 * JSON, with no routing, authentication, validation or serialization of its own. Configured by the JSON file named
 * in `RAW_CONFIG`: `{ url, cases: [{ statements: [{ sql, parameters }], variants?: unknown[][] }] }`. Answers
 * `GET /<case>/<i>`, using `variants[i % n]` as the parameters of every statement when the case has variants.
 * `FRAMEWORK=express` serves the same as one Express route. Prints `{"port":N}` once listening; stops on SIGTERM.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { DEFAULT_POOL_SIZE } from '../../src/store/connect.js';

interface RawCase {
  statements: Array<{ sql: string; parameters: unknown[] }>;
  variants?: unknown[][];
}

const config = JSON.parse(readFileSync(String(process.env.RAW_CONFIG), 'utf8')) as { url: string; cases: RawCase[] };
const pool = new pg.Pool({ connectionString: config.url, max: DEFAULT_POOL_SIZE });
pool.on('error', () => {});

const listener = async (req: http.IncomingMessage, res: http.ServerResponse) => {
  const [, c, i] = (req.url ?? '').split('/');
  const rawCase = config.cases[Number(c)];
  if (!rawCase) {
    res.writeHead(404).end();
    return;
  }
  try {
    const variant = rawCase.variants?.[Number(i) % rawCase.variants.length];
    const results = await Promise.all(rawCase.statements.map((s) => pool.query(s.sql, variant ?? s.parameters)));
    const body = JSON.stringify(results.map((r) => r.rows));
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
};
// FRAMEWORK=express: the same, as one Express route (the floor for the Express mount).
let server: http.Server;
if (process.env.FRAMEWORK === 'express') {
  const { default: express } = await import('express');
  const app = express();
  app.get('/:c/:i', listener);
  server = http.createServer(app);
} else server = http.createServer(listener);
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await pool.end();
  process.exit(0);
});
