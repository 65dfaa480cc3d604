/**
 * `GET executions/export/?format=csv|json` (an extension): every run the list would show under the same filters,
 * ordering and scoping, as a download. Streamed: rows are read in keyset batches as the client takes them (never the
 * whole answer in memory), and bounded: at most {@link EXPORT_MAX_ROWS} rows, after which the last line says the
 * export was cut.
 */
import type { Context } from 'hono';
import { SCAN_BATCH_SIZE, scanExecutions } from '../store/scan.js';
import type { TaskExecution } from '../types.js';
import type { RegisterRoute } from './app.js';
import type { HttpContext, HttpEnv } from './context.js';
import { JSON_HEADERS } from './errors.js';
import {
  detailErrorSchema,
  EXPORT_MAX_ROWS,
  type ExecutionJson,
  exportJsonSchema,
  exportQuerySchema,
  listFilters,
  metadataView,
  parseQuery,
  validationErrorSchema,
} from './schemas.js';
import { resolveCreatorScope } from './scope.js';
import { serializeExecution } from './serialize.js';

export { EXPORT_MAX_ROWS };

/** CSV columns, in order: the list item's fields, `metadata` as JSON text. */
export const CSV_COLUMNS = [
  'id',
  'task_id',
  'task_name',
  'module',
  'status',
  'created_at',
  'started_at',
  'finished_at',
  'duration',
  'is_completed',
  'is_running',
  'created_by_id',
  'created_by_username',
  'metadata',
] as const satisfies ReadonlyArray<keyof ExecutionJson>;

/** Columns holding text a user may choose (names, ids, metadata). */
const TEXT_COLUMNS = new Set<string>([
  'task_id',
  'task_name',
  'module',
  'created_by_id',
  'created_by_username',
  'metadata',
]);

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. Text that a spreadsheet would run as a
 * formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'` (OWASP's advice against CSV injection).
 */
export function csvField(value: unknown, text: boolean): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(item: ExecutionJson): string {
  return `${CSV_COLUMNS.map((c) => csvField(item[c], TEXT_COLUMNS.has(c))).join(',')}\r\n`;
}

/** `agentcore-task-runs-20261201T120000Z.csv`: a name that sorts by time and needs no quoting. */
function fileName(format: 'csv' | 'json', now = new Date()): string {
  return `agentcore-task-runs-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}.${format}`;
}

/** Registers `GET executions/export/`. Same authorization and scoping as the list. */
export function registerExportRoute(route: RegisterRoute, ctx: HttpContext): void {
  const { tasks } = ctx;
  route(
    {
      method: 'get',
      path: '/executions/export/',
      operationId: 'exportExecutions',
      summary:
        'Extension: every run the list would show under the same filters, ordering and scoping, as a CSV or JSON download.',
      description: `Streamed as it is read, never built in memory. At most \`limit\` rows (default and most ${EXPORT_MAX_ROWS.toLocaleString('en')}): when more match, CSV ends with the line \`# truncated: more than <limit> runs match these filters\` and JSON with \`"truncated": true\`; the \`X-Export-Limit\` header says the bound. CSV columns: ${CSV_COLUMNS.join(', ')} (\`metadata\` as JSON text; text that a spreadsheet would read as a formula starts with \`'\`). JSON: \`{ "results": [list items], "count": n, "truncated": bool }\`. The list's paging parameters do not apply.`,
      tags: ['executions'],
      query: exportQuerySchema,
      extraQuery: [
        {
          name: 'metadata.<key>',
          description: 'Exact match on a top-level metadata key, as for the list.',
        },
      ],
      responses: {
        200: {
          description: 'The runs, as an attachment: `text/csv` (`format=csv`) or `application/json` (`format=json`)',
          schema: exportJsonSchema,
          contentType: 'text/csv',
        },
        400: { description: 'Invalid parameter: `{ error, field }`', schema: validationErrorSchema },
        401: { description: 'No user', schema: detailErrorSchema },
        403: { description: 'Not allowed', schema: detailErrorSchema },
      },
    },
    async (c: Context<HttpEnv>) => {
      const params = new URL(c.req.url).searchParams;
      const query = parseQuery(exportQuerySchema, params);
      const format = query.format ?? 'csv';
      const viewer = { user: c.get('user'), canViewAll: c.get('canViewAll') };
      const filters = { ...listFilters(query, params), createdById: resolveCreatorScope(viewer, query) };
      const view = metadataView(query);
      const limit = query.limit ?? EXPORT_MAX_ROWS;
      const headers = {
        ...JSON_HEADERS,
        'content-type': format === 'csv' ? 'text/csv; charset=UTF-8' : 'application/json; charset=UTF-8',
        'content-disposition': `attachment; filename="${fileName(format)}"`,
        'x-export-limit': String(limit),
      };
      const batches = scanExecutions(tasks.tracker.store, filters, {
        ordering: query.ordering,
        batchSize: Math.min(SCAN_BATCH_SIZE, limit),
      });
      // The first batch is read before answering, so a database error is still an error status, not a cut download.
      const first = c.req.method === 'HEAD' ? undefined : await batches.next();
      if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers });
      const encoder = new TextEncoder();
      let written = 0;
      let pending: IteratorResult<TaskExecution[]> | undefined = first;
      let started = false;
      let done = false;
      const finish = (controller: ReadableStreamDefaultController<Uint8Array>, truncated: boolean) => {
        done = true;
        const tail =
          format === 'csv'
            ? truncated
              ? `# truncated: more than ${limit} runs match these filters\r\n`
              : ''
            : `${written > 0 ? '\n' : ''}],"count":${written},"truncated":${truncated}}\n`;
        if (tail) controller.enqueue(encoder.encode(tail));
        controller.close();
      };
      const body = new ReadableStream<Uint8Array>(
        {
          async pull(controller) {
            if (done) return;
            try {
              if (!started) {
                started = true;
                controller.enqueue(encoder.encode(format === 'csv' ? `${CSV_COLUMNS.join(',')}\r\n` : '{"results":['));
              }
              const next = pending ?? (await batches.next());
              pending = undefined;
              if (next.done) return finish(controller, false);
              const room = limit - written;
              const rows = next.value.slice(0, room);
              let chunk = '';
              for (const run of rows) {
                const item = serializeExecution(run, view);
                chunk += format === 'csv' ? csvLine(item) : `${written === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`;
                written++;
              }
              if (chunk) controller.enqueue(encoder.encode(chunk));
              if (next.value.length > room) return finish(controller, true);
              if (written === limit) {
                // Exactly at the bound: one more read says whether more runs match.
                const more = await batches.next();
                return finish(controller, !more.done);
              }
            } catch (error) {
              // Headers are sent: the client sees a cut download (no trailer), and the log says why.
              tasks.logger.error({ err: error }, 'export failed while streaming');
              done = true;
              controller.error(error);
            }
          },
          async cancel() {
            done = true;
            await batches.return(undefined);
          },
        },
        { highWaterMark: 1 },
      );
      return new Response(body, { status: 200, headers });
    },
  );
}
