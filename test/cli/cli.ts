/** Running `agentcore-task` as a subprocess (pg-boss style), for the CLI tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface CliRun {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<number>;
}

/**
 * Starts `node --import tsx src/cli/main.ts …args` in the repository. DATABASE_URL and REDIS_URL are cleared so a
 * developer's environment cannot leak in; `nodeImports` adds `--import` modules (loader hooks).
 */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, nodeImports: string[] = []): CliRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', ...nodeImports.flatMap((m) => ['--import', m]), 'src/cli/main.ts', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out.stderr += d;
  });
  const exited = once(child, 'exit').then(([code]) => code as number);
  return { child, out, exited };
}

/** Runs the command to its end. */
export async function runCli(
  args: string[],
  env?: NodeJS.ProcessEnv,
  nodeImports?: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = cli(args, env, nodeImports);
  const code = await run.exited;
  return { code, ...run.out };
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
