import type { Kysely } from 'kysely';
import { ValidationError } from './errors.js';
import {
  type ConfigPatch,
  configPatchSchema,
  DEFAULT_SETTINGS,
  SETTING_DEFS,
  SETTING_KEYS,
  type Settings,
  settingsFromEnv,
  settingsFromWire,
  validateCodeSettings,
} from './settings.js';
import { BACKFILL_KEY } from './store/aggregates/backfill.js';
import { CLEANUP_CUTOFF_KEY } from './store/cleanup-cutoff.js';
import type { SqlDialect } from './store/dialect.js';
import type { Database } from './store/schema.js';

/**
 * Effective settings: defaults, then `AGENTCORE_TASK_*` environment variables, then `settings` given in code, then
 * run-time overrides stored in `agentcore_task_config` (lowest precedence first). The table is read on every `get()`,
 * so an override stored by one process takes effect in every process at once.
 */
export class SettingsStore {
  /** Defaults + environment + code, without the table. */
  readonly base: Readonly<Settings>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
    codeSettings: Partial<Settings> = {},
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const fromEnv = settingsFromEnv(env);
    const fromCode = validateCodeSettings(stripUndefined(codeSettings));
    this.base = Object.freeze({ ...DEFAULT_SETTINGS, ...fromEnv, ...fromCode });
  }

  /** The run-time overrides stored in the config table (snake_case keys). */
  async overrides(): Promise<ConfigPatch> {
    const rows = await this.db.selectFrom('agentcore_task_config').select(['key', 'value']).execute();
    const wire: Record<string, unknown> = {};
    for (const row of rows) {
      try {
        wire[row.key] = JSON.parse(row.value);
      } catch {
        // an unreadable override is ignored rather than breaking every job
      }
    }
    const parsed = configPatchSchema.safeParse(
      Object.fromEntries(Object.entries(wire).filter(([k]) => SETTING_KEYS.some((s) => SETTING_DEFS[s].wire === k))),
    );
    return parsed.success ? parsed.data : {};
  }

  /** The effective settings now. */
  async get(): Promise<Settings> {
    return { ...this.base, ...settingsFromWire(await this.overrides()) };
  }

  /**
   * Validates and stores run-time overrides (snake_case keys, as the config API takes them). Throws a
   * `ValidationError` naming the first bad field; stores nothing in that case.
   */
  async patch(input: unknown): Promise<Settings> {
    if (input === null || typeof input !== 'object' || Array.isArray(input))
      throw new ValidationError('body must be a JSON object', 'body');
    const parsed = configPatchSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.code === 'unrecognized_keys' ? String(issue.keys[0]) : String(issue.path[0] ?? 'body');
      const message = issue.code === 'unrecognized_keys' ? `unknown setting "${field}"` : `${field}: ${issue.message}`;
      throw new ValidationError(message, field);
    }
    const now = this.dialect.toDbDate(new Date());
    await this.db.transaction().execute(async (trx) => {
      for (const [key, value] of Object.entries(parsed.data)) {
        if (value === undefined) continue;
        const row = { key, value: JSON.stringify(value), updated_at: now };
        await trx.deleteFrom('agentcore_task_config').where('key', '=', key).execute();
        await trx.insertInto('agentcore_task_config').values(row).execute();
      }
    });
    return this.get();
  }

  /**
   * Removes every run-time override (back to environment and code settings), and the recorders' stored positions
   * with them. A pending stats backfill's marker stays (without it, reads would trust aggregates not yet counted), and
   * so does the newest cleanup cutoff (without it, recovery of finished queue jobs could bring deleted runs back).
   */
  async reset(): Promise<void> {
    await this.db
      .deleteFrom('agentcore_task_config')
      .where('key', 'not in', [BACKFILL_KEY, CLEANUP_CUTOFF_KEY])
      .execute();
  }
}

function stripUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
