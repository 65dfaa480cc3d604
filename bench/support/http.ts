/** HTTP pieces of the benchmarks: a server in a child process, keep-alive GETs, and a closed-loop load generator. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

export interface ChildServer {
  port: number;
  pid: number;
  /** Resident set size of the server process in MiB (Linux /proc). */
  rssMiB(): number;
  stop(): Promise<void>;
}

/**
 * Starts a server script (default `bench/support/server.ts`, the library's REST API) in its own Node process with
 * `env` added; resolves once it prints its port.
 */
export async function startServerProcess(env: Record<string, string>, script = SERVER): Promise<ChildServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before listening`)));
    lines.once('line', (line) => resolve(JSON.parse(line).port));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    port,
    pid: child.pid!,
    rssMiB: () => rssMiB(child.pid!),
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** VmRSS of a process in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export interface GetResult {
  status: number;
  body: string;
}

/** One GET over `agent` (keep-alive), body read to the end. */
export function get(agent: http.Agent, url: string, headers: Record<string, string> = {}): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** One request with any method and an optional body (for the fault suite's random requests). */
export function request(
  agent: http.Agent,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export interface LoadResult {
  /** Latency of each request in ms. */
  samples: number[];
  perSecond: number;
}

/**
 * Closed-loop load: `concurrency` callers each send one request after the other, until `durationMs` passed and at
 * least `minRequests` were sent (or `maxRequests` were sent). Every request must succeed (the call throws otherwise).
 */
export async function closedLoop(opts: {
  concurrency: number;
  durationMs: number;
  minRequests?: number;
  maxRequests?: number;
  send: (i: number) => Promise<void>;
}): Promise<LoadResult> {
  const samples: number[] = [];
  const min = opts.minRequests ?? 0;
  const max = opts.maxRequests ?? Number.POSITIVE_INFINITY;
  let next = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < max && (performance.now() < deadline || next < min)) {
        const i = next++;
        const t = performance.now();
        await opts.send(i);
        samples.push(performance.now() - t);
      }
    }),
  );
  return { samples, perSecond: samples.length / ((performance.now() - started) / 1000) };
}
