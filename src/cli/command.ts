import { parseArgs } from 'node:util';

/** Exit codes of every command. */
export const EXIT = Object.freeze({
  /** Done. */
  OK: 0,
  /** It ran and failed: database or queue unreachable, port in use, … */
  FAILURE: 1,
  /** Bad usage: unknown command or option, invalid value, unreadable input file. */
  USAGE: 2,
});

/** Where a command writes, and the environment it reads (replaceable in tests). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** One `agentcore-task <name>` command, in `src/cli/commands/<name>.ts` (default export). */
export interface Command {
  /** Full `--help` text. */
  help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** Bad usage: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** One option of a command: a string (`--port 8000`) or a flag (`--json`). */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
}

/** The parsed values of `options` (absent options are `undefined`), plus `help`. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]['type'] extends 'string' ? string : boolean;
} & { help?: boolean };

/** `parseArgs` (strict, positionals allowed) with `--help`/`-h` added and its errors turned into `UsageError`s. */
export function parseCommandArgs<const O extends Record<string, OptionSpec>>(
  args: string[],
  options: O,
): { values: OptionValues<O>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A non-negative integer option (`--port 8000`), or a `UsageError` naming it. */
export function intOption(name: string, value: string | undefined, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A database URL with its password hidden, for log lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
