import { Cron } from 'croner';
import { z } from 'zod';
import { ValidationError } from './errors.js';

/** Settings of the maintenance jobs (retention, timeout, schedules): environment defaults and run-time overrides. */
export interface Settings {
  /** @defaultValue `true` */
  cleanupEnabled: boolean;
  /** 5-field crontab of the cleanup job. @defaultValue `'0 2 * * *'` */
  cleanupCrontab: string;
  /** Interval used when `cleanupCrontab` is invalid. @defaultValue `24` */
  cleanupBeatIntervalHours: number;
  /** Runs older than this are deleted by cleanup. @defaultValue `30` */
  retentionDays: number;
  /** Cleanup deletes only `SUCCESS`/`FAILURE`/`REVOKED` runs. @defaultValue `true` */
  cleanupOnlyCompleted: boolean;
  /** @defaultValue `true` */
  markTimeoutEnabled: boolean;
  /** 5-field crontab of the mark-timeout job. @defaultValue `'*\/30 * * * *'` */
  markTimeoutCrontab: string;
  /** A `STARTED` run with no sign of life for this long is marked `FAILURE`. @defaultValue `10` */
  timeoutMinutes: number;
}

/** Every default in one place. */
export const DEFAULT_SETTINGS = Object.freeze({
  cleanupEnabled: true,
  cleanupCrontab: '0 2 * * *',
  cleanupBeatIntervalHours: 24,
  retentionDays: 30,
  cleanupOnlyCompleted: true,
  markTimeoutEnabled: true,
  markTimeoutCrontab: '*/30 * * * *',
  timeoutMinutes: 10,
} satisfies Settings);

type SettingKey = keyof Settings;
type Kind = 'boolean' | 'int' | 'string';

/** Each setting: its environment variable, its snake_case wire/config-table name, and its kind. */
export const SETTING_DEFS: Record<SettingKey, { env: string; wire: string; kind: Kind }> = {
  cleanupEnabled: { env: 'AGENTCORE_TASK_CLEANUP_ENABLED', wire: 'cleanup_enabled', kind: 'boolean' },
  cleanupCrontab: { env: 'AGENTCORE_TASK_CLEANUP_CRONTAB', wire: 'cleanup_crontab', kind: 'string' },
  cleanupBeatIntervalHours: {
    env: 'AGENTCORE_TASK_CLEANUP_BEAT_INTERVAL_HOURS',
    wire: 'cleanup_beat_interval_hours',
    kind: 'int',
  },
  retentionDays: { env: 'AGENTCORE_TASK_RETENTION_DAYS', wire: 'retention_days', kind: 'int' },
  cleanupOnlyCompleted: {
    env: 'AGENTCORE_TASK_CLEANUP_ONLY_COMPLETED',
    wire: 'cleanup_only_completed',
    kind: 'boolean',
  },
  markTimeoutEnabled: { env: 'AGENTCORE_TASK_MARK_TIMEOUT_ENABLED', wire: 'mark_timeout_enabled', kind: 'boolean' },
  markTimeoutCrontab: { env: 'AGENTCORE_TASK_MARK_TIMEOUT_CRONTAB', wire: 'mark_timeout_crontab', kind: 'string' },
  timeoutMinutes: { env: 'AGENTCORE_TASK_TIMEOUT_MINUTES', wire: 'timeout_minutes', kind: 'int' },
};

export const SETTING_KEYS = Object.keys(SETTING_DEFS) as SettingKey[];

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Parses one environment string for `key`; throws a `ValidationError` naming `source` when malformed. */
export function parseSettingString(key: SettingKey, raw: string, source: string): Settings[SettingKey] {
  const { kind } = SETTING_DEFS[key];
  const text = raw.trim();
  if (kind === 'boolean') {
    const lower = text.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    throw new ValidationError(`${source} must be true or false, got ${JSON.stringify(raw)}`, source);
  }
  if (kind === 'int') {
    if (!/^-?\d+$/.test(text))
      throw new ValidationError(`${source} must be an integer, got ${JSON.stringify(raw)}`, source);
    return Number.parseInt(text, 10);
  }
  return text;
}

/** Reads every `AGENTCORE_TASK_*` variable that is set. Malformed values throw, naming the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Settings> {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const key of SETTING_KEYS) {
    const raw = env[SETTING_DEFS[key].env];
    if (raw !== undefined && raw !== '') out[key] = parseSettingString(key, raw, SETTING_DEFS[key].env);
  }
  return out as Partial<Settings>;
}

/** `true` when `pattern` is a valid 5-field crontab (validated by croner, not by hand). */
export function isValidCrontab(pattern: string): boolean {
  if (typeof pattern !== 'string' || pattern.trim().split(/\s+/).length !== 5) return false;
  try {
    new Cron(pattern, { paused: true, timezone: 'UTC' }).stop();
    return true;
  } catch {
    return false;
  }
}

const crontab = z.string().refine(isValidCrontab, { message: 'must be a valid 5-field crontab' });

/**
 * Schema of the run-time overrides accepted by the config API (snake_case, as on the wire). The ranges are the
 * ones the REST API promises: `timeout_minutes` 1–1440, `retention_days` 1–3650.
 */
export const configPatchSchema = z
  .object({
    cleanup_enabled: z.boolean(),
    cleanup_crontab: crontab,
    cleanup_beat_interval_hours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365),
    retention_days: z.number().int().min(1).max(3650),
    cleanup_only_completed: z.boolean(),
    mark_timeout_enabled: z.boolean(),
    mark_timeout_crontab: crontab,
    timeout_minutes: z.number().int().min(1).max(1440),
  })
  .partial()
  .strict();

export type ConfigPatch = z.infer<typeof configPatchSchema>;

/** Settings as snake_case wire JSON. */
export function settingsToWire(settings: Settings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[SETTING_DEFS[key].wire] = settings[key];
  return out;
}

/** Converts snake_case wire keys back to setting names. Unknown keys are ignored. */
export function settingsFromWire(wire: Record<string, unknown>): Partial<Settings> {
  const out: Partial<Record<SettingKey, unknown>> = {};
  for (const key of SETTING_KEYS) {
    const value = wire[SETTING_DEFS[key].wire];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<Settings>;
}

/** Validates code-supplied settings (the `settings` option); throws a `ValidationError` naming the setting. */
export function validateCodeSettings(settings: Partial<Settings>): Partial<Settings> {
  const wire: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in SETTING_DEFS)) throw new ValidationError(`unknown setting "${key}"`, key);
    if (value !== undefined) wire[SETTING_DEFS[key as SettingKey].wire] = value;
  }
  // Crontabs given in code may be invalid on purpose: the seed falls back to the interval with a warning.
  const { cleanup_crontab, mark_timeout_crontab, ...rest } = wire;
  const schema = configPatchSchema
    .omit({ cleanup_crontab: true, mark_timeout_crontab: true })
    .extend({ retention_days: z.number().int(), timeout_minutes: z.number().int().min(1) })
    .partial();
  const parsed = schema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const wireKey = String(issue.path[0] ?? '');
    const key = SETTING_KEYS.find((k) => SETTING_DEFS[k].wire === wireKey) ?? wireKey;
    throw new ValidationError(`setting ${key}: ${issue.message}`, key);
  }
  for (const [name, value] of [
    ['cleanupCrontab', cleanup_crontab],
    ['markTimeoutCrontab', mark_timeout_crontab],
  ] as const) {
    if (value !== undefined && typeof value !== 'string')
      throw new ValidationError(`setting ${name} must be a string`, name);
  }
  return settings;
}
