/**
 * The zod schemas of every query parameter, path parameter, body and response of the REST API. Requests are validated
 * with them, and `openapi.json` is generated from them (`openapi.ts`), so the document cannot drift from the code.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { configPatchSchema } from '../settings.js';
import { TaskStatus } from '../status.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../store/execution-store.js';
import { METADATA_KEY, parseDateBound } from '../store/filters.js';
import type { ExecutionFilters } from '../types.js';
import { ORDERING_FIELDS } from '../types.js';

// ── Query parameter building blocks ─────────────────────────────────────────────────────────────────────────────
// Query strings are text; each parameter is documented (OpenAPI) by its parsed type and parsed from text by a
// preprocess step that converts only well-formed text, so anything else fails with the parameter's own message.

const DIGITS = /^\d+$/;

/** The most rows one export (`GET executions/export/`) carries. */
export const EXPORT_MAX_ROWS = 100_000;

/** Pages beyond this are certainly past the end; capping keeps the SQL offset a sane integer on every driver. */
const MAX_PAGE = 1_000_000_000;

/** A positive integer parameter. `clampTo` caps it instead of failing (page, page_size). */
function positiveInt(field: string, description: string, clampTo?: number) {
  const error = `${field} must be a positive integer`;
  return z
    .preprocess(
      (v) => {
        if (typeof v !== 'string' || !DIGITS.test(v)) return v;
        const n = Number(v);
        // Huge numbers stay integers: a page far past the end is "Invalid page.", a huge page_size is clamped.
        return Math.min(n, clampTo ?? Number.MAX_SAFE_INTEGER);
      },
      z.number({ error }).int({ error }).min(1, { error }),
    )
    .meta({ description });
}

const TRUE_FALSE: Record<string, boolean> = { true: true, false: false };

/** `true` or `false` (case-insensitive); anything else is a 400 naming the parameter. */
function booleanParam(field: string, description: string) {
  return z
    .preprocess(
      (v) => (typeof v === 'string' && v.toLowerCase() in TRUE_FALSE ? TRUE_FALSE[v.toLowerCase()] : v),
      z.boolean({ error: `${field} must be true or false` }),
    )
    .meta({ description });
}

/** An ISO date or datetime, checked by the same parser the store uses. */
function dateParam(field: string, end: boolean, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseDateBound(value, field, end);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .meta({ description, examples: end ? ['2024-05-31', '2024-05-31T23:59:59Z'] : ['2024-05-01'] });
}

const statusEnum = z.enum(TaskStatus.all, {
  error: `status must be one of ${TaskStatus.all.join(', ')}`,
});
const orderingValues = [...ORDERING_FIELDS, ...ORDERING_FIELDS.map((f) => `-${f}` as const)] as const;

/** The filters shared by the list, my-tasks and stats endpoints. */
const commonFilters = {
  module: z.string().meta({ description: 'Only runs of this module (exact match).' }),
  task_name: z.string().meta({ description: 'Only runs of this task name (exact match).' }),
  start_date: dateParam('start_date', false, '`created_at >= start_date` (ISO date or datetime, UTC if no offset).'),
  end_date: dateParam('end_date', true, '`created_at <= end_date`; a date-only value includes that whole day.'),
};

const scopingParams = {
  created_by: z
    .preprocess(
      (v) => (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v),
      z
        .number({ error: 'created_by must be an integer user id' })
        .int({ error: 'created_by must be an integer user id' }),
    )
    .meta({ description: "Runs created by this user id. Another user's id requires `canViewAll`." }),
  my_tasks: booleanParam(
    'my_tasks',
    '`true` (the default when `created_by` is absent): only your runs. `false`: every run (requires `canViewAll`).',
  ),
};

/**
 * How much of `metadata` an answer carries. The list, my-tasks and every route answering one run (detail, by-task-id,
 * status, sync) take them, with the same meaning and validation, as the Django module does.
 */
const metadataViewParams = {
  include_metadata: booleanParam(
    'include_metadata',
    '`false`: `metadata` is `null` (smaller responses). Default `true`.',
  ),
  metadata_fields: z.string().meta({
    description: 'Comma-separated allow-list of metadata keys to return (keys the run lacks are left out).',
  }),
};

const listOnlyParams = {
  status: statusEnum.meta({ description: 'Only runs in this status.' }),
  search: z.string().meta({ description: 'Case-insensitive substring of `task_name` or `task_id`.' }),
  ordering: z
    .enum(orderingValues, {
      error: `ordering must be one of ${ORDERING_FIELDS.join(', ')} (optionally prefixed with -)`,
    })
    .meta({ description: 'Sort field, `-` for descending. Default `-created_at`.' }),
  page: positiveInt(
    'page',
    'Page number (default 1). A page past the end is 404 `{"detail": "Invalid page."}`.',
    MAX_PAGE,
  ),
  page_size: positiveInt(
    'page_size',
    `Results per page (default ${DEFAULT_PAGE_SIZE}, larger than ${MAX_PAGE_SIZE} is clamped).`,
    MAX_PAGE_SIZE,
  ),
  cursor: z.string().max(2048, 'cursor is not valid: use the link of a previous page').meta({
    description:
      'Extension: keyset paging. The opaque position a `next` or `previous` link carries; the page then starts right after it (or ends right before it) at a cost that does not grow with depth, and `page` is ignored. A cursor is tied to its `ordering`.',
  }),
  ...metadataViewParams,
};

/** Query of `GET executions/`. `metadata.<key>=<value>` filters are read separately (`parseMetadataFilters`). */
export const listQuerySchema = z.object({ ...commonFilters, ...scopingParams, ...listOnlyParams }).partial();
export type ListQuery = z.output<typeof listQuerySchema>;

/** Query of `GET executions/export/` (extension): the list's filters, scoping, ordering and metadata view; no paging. */
export const exportQuerySchema = z
  .object({
    ...commonFilters,
    ...scopingParams,
    status: listOnlyParams.status,
    search: listOnlyParams.search,
    ordering: listOnlyParams.ordering,
    ...metadataViewParams,
    format: z.enum(['csv', 'json'], { error: 'format must be one of csv, json' }).meta({
      description: '`csv` (default) or `json`.',
    }),
    limit: positiveInt(
      'limit',
      `At most this many rows (default and largest ${EXPORT_MAX_ROWS.toLocaleString('en')}; larger is clamped).`,
      EXPORT_MAX_ROWS,
    ),
  })
  .partial();
export type ExportQuery = z.output<typeof exportQuerySchema>;

/** Query of `GET executions/my-tasks/`: the list's, without the scoping parameters. */
export const myTasksQuerySchema = z.object({ ...commonFilters, ...listOnlyParams }).partial();

/** Query of `GET executions/stats/`. */
export const statsQuerySchema = z
  .object({
    ...commonFilters,
    ...scopingParams,
    granularity: z.enum(['day', 'month', 'year'], { error: 'granularity must be one of day, month, year' }).meta({
      description:
        'Adds a `series` with empty buckets filled: `day` = 24 hours of `start_date` (or today), `month` = 30 days ending at `end_date` (or today), `year` = 12 months. Extension: and `series_by_status`, the same buckets by status.',
    }),
    durations: booleanParam(
      'durations',
      'Extension: `true` adds `duration_by_task_name` (run time p50/p95 of completed runs per task name). Reads the runs, where the counts may come from maintained aggregates: ask for it only when shown.',
    ),
  })
  .partial();
export type StatsQuery = z.output<typeof statsQuerySchema>;

const syncParam = booleanParam('sync', 'Pull the state from the queue before answering (default `true`).');

/** Query of `GET executions/{id}/` and `POST executions/{id}/sync/`: how much metadata the answer carries. */
export const detailQuerySchema = z.object(metadataViewParams).partial();
export type DetailQuery = z.output<typeof detailQuerySchema>;

/** Query of `GET executions/by-task-id/{task_id}/`. */
export const byTaskIdQuerySchema = z.object({ sync: syncParam, ...metadataViewParams }).partial();

/** Query of `GET executions/status/`. */
export const statusQuerySchema = z
  .object({
    task_id: z.string({ error: 'task_id is required' }).meta({ description: 'The task id (the queue job id).' }),
  })
  .extend(byTaskIdQuerySchema.shape);

/** Path parameter `{id}`: the primary key. */
export const idParamSchema = z.object({ id: positiveInt('id', 'Primary key of the run.') });
/** Path parameter `{task_id}`. */
export const taskIdParamSchema = z.object({
  task_id: z.string().meta({ description: 'The task id (the queue job id).' }),
});

/** Body of `PATCH config/`: the same schema `tasks.settings.patch()` validates with. */
export const configPatchBodySchema = configPatchSchema;

// ── Responses ───────────────────────────────────────────────────────────────────────────────────────────────────

const timestamp = z.string().meta({ format: 'date-time', description: 'ISO 8601, UTC.' });
const creatorId = z.union([z.string(), z.number().int()]).nullable();

/** A run in a list (`results[]`) and in stream events. */
export const executionSchema = z.object({
  id: z.number().int(),
  task_id: z.string(),
  task_name: z.string(),
  module: z.string(),
  status: statusEnum,
  created_at: timestamp,
  started_at: timestamp.nullable(),
  finished_at: timestamp.nullable(),
  metadata: z
    .record(z.string(), z.unknown())
    .nullable()
    .meta({ description: '`null` with `include_metadata=false`; only the listed keys with `metadata_fields`.' }),
  created_by_id: creatorId.meta({ description: 'The creator in the JSON type it was given; `null` for system runs.' }),
  created_by_username: z.string().nullable(),
  duration: z.number().nullable().meta({ description: 'Seconds: finished − started; running: now − started.' }),
  is_completed: z.boolean(),
  is_running: z.boolean(),
});
export type ExecutionJson = z.output<typeof executionSchema>;

/** A run in detail (`executions/{id}/`, `by-task-id`, `status`, `sync`). */
export const executionDetailSchema = executionSchema.extend({
  task_args: z.array(z.unknown()),
  task_kwargs: z.record(z.string(), z.unknown()),
  result: z.unknown(),
  error: z.string().nullable(),
  traceback: z.string().nullable(),
  created_by: creatorId.meta({ description: 'Same value as `created_by_id`.' }),
});
export type ExecutionDetailJson = z.output<typeof executionDetailSchema>;

/** One page of runs. */
export const executionPageSchema = z.object({
  count: z.number().int(),
  count_is_exact: z.literal(false).optional().meta({
    description:
      'Extension: present (`false`) when `count` is an estimate (a long list whose filters the maintained counts do not cover; exact up to 10,000). Absent when exact.',
  }),
  next: z.string().nullable().meta({
    description:
      'Absolute URL of the next page, or null. Carries `cursor` after a cursor request or past an estimated count.',
  }),
  previous: z.string().nullable().meta({ description: 'Absolute URL of the previous page, or null.' }),
  results: z.array(executionSchema),
});
export type ExecutionPageJson = z.output<typeof executionPageSchema>;

const statusCountsShape = {
  total: z.number().int(),
  pending: z.number().int(),
  started: z.number().int(),
  success: z.number().int(),
  failure: z.number().int(),
  retry: z.number().int(),
  revoked: z.number().int(),
};
export const statusCountsSchema = z.object(statusCountsShape);

/** `GET executions/stats/`. */
export const statsSchema = z.object({
  ...statusCountsShape,
  by_module: z.record(z.string(), statusCountsSchema),
  by_task_name: z.record(z.string(), statusCountsSchema),
  series: z
    .array(z.object({ bucket: z.string(), count: z.number().int() }))
    .optional()
    .meta({ description: 'With `granularity` only: `HH:00`, `YYYY-MM-DD` or `YYYY-MM` buckets, empty ones 0.' }),
  series_by_status: z
    .array(z.object({ bucket: z.string(), counts: statusCountsSchema }))
    .optional()
    .meta({
      description:
        "Extension, with `granularity` only: the buckets of `series` with their counts by status (`counts.total` is the bucket's `count`). Counted in the same grouped query.",
    }),
  duration_by_task_name: z
    .record(
      z.string(),
      z.object({
        p50: z.number().meta({ description: 'Median run time, seconds (`finished_at − started_at`).' }),
        p95: z.number().meta({ description: '95th percentile, seconds (linear interpolation, as `percentile_cont`).' }),
        count: z.number().int().meta({ description: 'Completed runs with a start and an end in the filtered range.' }),
        sampled: z.literal(true).optional().meta({
          description:
            'Present when the percentiles are over the latest 10,000 runs of the name only (MySQL/MariaDB and SQLite; PostgreSQL is always exact).',
        }),
      }),
    )
    .optional()
    .meta({
      description:
        'Extension, with `durations=true` only: run time percentiles of the completed runs (SUCCESS, FAILURE, REVOKED) per task name, under the same filters and scoping.',
    }),
});

/** `GET executions/export/?format=json` (extension). */
export const exportJsonSchema = z.object({
  results: z.array(executionSchema),
  count: z.number().int().meta({ description: 'Rows in `results`.' }),
  truncated: z.boolean().meta({ description: '`true` when more runs match than `limit` (at most 100,000).' }),
});

/** `GET/PATCH config/`: the effective settings. */
export const configSchema = configPatchSchema.required();

/** `GET locks/`. */
export const locksSchema = z.object({
  count: z.number().int(),
  results: z.array(z.object({ name: z.string(), owner: z.string(), expires_at: timestamp.nullable() })),
});

export const validationErrorSchema = z.object({
  error: z.string(),
  field: z.string().meta({ description: 'The query parameter, path parameter or body field at fault.' }),
});
/** 401, 403, 404, 405, 413, 415, 429, 503, 500: `detail`, and (all but 404) the same message as `error`. */
export const detailErrorSchema = z.object({
  detail: z.string(),
  error: z.string().optional().meta({ description: 'The same message as `detail` (the key of the 400 answers).' }),
});

// ── Parsing ─────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Parses the query parameters `schema` knows from `params` (the last value wins when one is repeated; empty values
 * count as absent, as HTML forms send them). Throws a `ValidationError` naming the first bad parameter.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, params: URLSearchParams): z.output<S> {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const values = params.getAll(key).filter((v) => v !== '');
    if (values.length > 0) raw[key] = values[values.length - 1];
  }
  return parseWith(schema, raw);
}

/** Validates `value` with `schema`; a failure is a `ValidationError` naming the field of the first issue. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = String(issue.path[0] ?? 'body');
  throw new ValidationError(issue.message, field);
}

/**
 * Refuses a NUL character in the path or in a query parameter (name or value) with a `ValidationError` naming it:
 * PostgreSQL text cannot hold one, so it would otherwise fail in the database (a 500) instead of being a 400.
 */
export function rejectNulCharacters(href: string): void {
  // A URL carries a NUL only percent-encoded (the URL parser encodes a raw one), so most requests stop here unparsed.
  if (!/%00/i.test(href)) return;
  const url = new URL(href);
  if (/%00/i.test(url.pathname)) throw new ValidationError('the path must not contain NUL characters', 'path');
  for (const [name, value] of url.searchParams) {
    if (name.includes('\u0000')) throw new ValidationError('parameter names must not contain NUL characters', 'query');
    if (value.includes('\u0000')) throw new ValidationError(`${name} must not contain NUL characters`, name);
  }
}

/** `metadata.<key>=<value>` parameters as a filter. A key outside `[A-Za-z0-9_]+` is a 400 naming the parameter. */
export function parseMetadataFilters(params: URLSearchParams): Record<string, string> | undefined {
  let filters: Record<string, string> | undefined;
  for (const [name, value] of params) {
    if (!name.startsWith('metadata.')) continue;
    const key = name.slice('metadata.'.length);
    if (!METADATA_KEY.test(key))
      throw new ValidationError(`metadata filter key must match [A-Za-z0-9_]+, got ${JSON.stringify(key)}`, name);
    if (value === '') continue;
    filters ??= {};
    filters[key] = value;
  }
  return filters;
}

/** The store filters of a list-shaped query (list, my-tasks, list stream), without the creator scope. */
export function listFilters(
  query: Pick<ListQuery, 'module' | 'task_name' | 'status' | 'start_date' | 'end_date' | 'search'>,
  params: URLSearchParams,
): ExecutionFilters {
  return {
    module: query.module,
    taskName: query.task_name,
    status: query.status,
    startDate: query.start_date,
    endDate: query.end_date,
    search: query.search,
    metadata: parseMetadataFilters(params),
  };
}

/** The metadata view a query asks for (`include_metadata`, `metadata_fields`), as the serializers take it. */
export function metadataView(query: Pick<ListQuery, 'include_metadata' | 'metadata_fields'>): {
  includeMetadata: boolean;
  metadataFields: string[] | undefined;
} {
  return {
    includeMetadata: query.include_metadata !== false,
    metadataFields: parseMetadataFields(query.metadata_fields),
  };
}

/** `metadata_fields=a,b` → `['a', 'b']`. */
export function parseMetadataFields(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
