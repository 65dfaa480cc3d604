#!/usr/bin/env node
/**
 * The `agentcore-task` binary. Each command lives in `commands/<name>.ts` and is registered by one line below; a
 * command's module is loaded only when it runs.
 */
import { readFileSync } from 'node:fs';
import { type CliIo, type Command, EXIT, UsageError } from './command.js';

/** Every command: name → [one-line summary, loader]. */
const COMMANDS: Record<string, [summary: string, load: () => Promise<{ default: Command }>]> = {
  serve: ['Run the REST API standalone (--demo: with demo users and tasks)', () => import('./commands/serve.js')],
  migrate: ['Create or update the tables', () => import('./commands/migrate.js')],
  list: ['List runs (filters, pages; --json)', () => import('./commands/list.js')],
  show: ['Show one run by task id (--json)', () => import('./commands/show.js')],
  stats: ['Count runs by status, module and task name (--json)', () => import('./commands/stats.js')],
  import: ['Import runs from JSON Lines (detail wire format; idempotent)', () => import('./commands/import.js')],
  cleanup: ['Delete old runs now (retention)', () => import('./commands/cleanup.js')],
  'rebuild-stats': ['Recount the stats aggregates from the runs (online)', () => import('./commands/rebuild-stats.js')],
  'mark-timeout': ['Mark silent STARTED runs as timed out now', () => import('./commands/mark-timeout.js')],
  worker: ['Run the BullMQ maintenance worker and its schedules', () => import('./commands/worker.js')],
  record: ['Record every run of existing BullMQ queues from their events', () => import('./commands/record.js')],
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, [summary]]) => `  ${name.padEnd(width)}  ${summary}`);
  return `Usage: agentcore-task <command> [options]

Commands:
${lines.join('\n')}

Options:
  -h, --help     Show this help
  -v, --version  Print the version of agentcore-task

Run "agentcore-task <command> --help" for the options of a command.
Exit codes: 0 success, 1 failure, 2 bad usage.
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${version()}\n`);
    return EXIT.OK;
  }
  if (name === undefined) {
    io.stderr(usage());
    return EXIT.USAGE;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    io.stderr(`agentcore-task: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT.USAGE;
  }
  try {
    const { default: command } = await entry[1]();
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`agentcore-task ${name}: ${error.message}\nRun "agentcore-task ${name} --help" for usage.\n`);
      return EXIT.USAGE;
    }
    io.stderr(`agentcore-task ${name}: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.FAILURE;
  }
}

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
// Exit even if a library left a handle open; the timer itself does not keep the process alive.
setTimeout(() => process.exit(code), 2_000).unref();
