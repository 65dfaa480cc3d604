/**
 * Datetime filters are checked against the real calendar: an impossible date or time is a 400 naming the parameter,
 * never rolled over to a neighbouring day (as `Date` would read `2024-02-30T00:00:00Z`: 1 March).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/http/handler.js';
import { type AgentcoreTask, createAgentcoreTask, silentLogger } from '../../src/index.js';
import { parseDateBound } from '../../src/store/filters.js';
import { useTestDatabase } from '../helpers/databases.js';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

describe('parseDateBound', () => {
  it('accepts a datetime exactly when each part is on the calendar, and reads it back unchanged', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 25 }),
        fc.integer({ min: 0, max: 61 }),
        fc.integer({ min: 0, max: 61 }),
        (y, mo, d, h, mi, s) => {
          const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}Z`;
          const utc = new Date(0);
          utc.setUTCFullYear(y, mo - 1, d);
          utc.setUTCHours(h, mi, s, 0);
          const valid =
            mo >= 1 &&
            mo <= 12 &&
            d >= 1 &&
            utc.getUTCDate() === d &&
            utc.getUTCMonth() === mo - 1 &&
            h < 24 &&
            mi < 60 &&
            s < 60;
          if (valid)
            expect(parseDateBound(text, 'start_date', false).at.toISOString()).toBe(`${text.slice(0, -1)}.000Z`);
          else expect(() => parseDateBound(text, 'start_date', false)).toThrow(/start_date/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each([
    '2024-02-30T00:00:00Z',
    '2023-02-29T12:00:00Z',
    '2024-04-31T00:00',
    '2024-13-01T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-01-00T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:60:00Z',
    '2024-01-01T23:59:60Z',
    '2024-01-01T10:00:00+24:00',
    '2024-01-01T10:00:00+05:60',
    '1900-02-29 00:00',
  ])('refuses %s', (text) => {
    expect(() => parseDateBound(text, 'end_date', true)).toThrow(/end_date is not a valid date/);
  });

  it.each([
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29 12:30', '2000-02-29T12:30:00.000Z'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
    ['2024-06-01T02:00:00+02:00', '2024-06-01T00:00:00.000Z'],
    ['2024-06-01T00:00:00-0130', '2024-06-01T01:30:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseDateBound(text, 'start_date', false).at.toISOString()).toBe(iso);
  });
});

describe('datetime filters over HTTP', () => {
  const database = useTestDatabase('sqlite');
  let tasks: AgentcoreTask;
  let handler: (request: Request) => Promise<Response>;
  beforeAll(async () => {
    tasks = await createAgentcoreTask({ database: database.url, logger: silentLogger, realtime: 'memory' });
    handler = createHandler(tasks, { getUser: () => ({ id: 1, isAdmin: true }) });
  });
  afterAll(async () => {
    await tasks?.close();
  });

  it.each([
    ['/executions/?start_date=2024-02-30T00:00:00Z', 'start_date'],
    ['/executions/my-tasks/?end_date=2024-02-30T23:00:00', 'end_date'],
    ['/executions/stats/?start_date=2023-02-29T00:00:00Z', 'start_date'],
    ['/executions/stats/?granularity=day&end_date=2024-06-31T00:00:00Z', 'end_date'],
    ['/executions/stream/?start_date=2024-01-01T25:00:00Z', 'start_date'],
  ])('%s → 400 naming %s', async (path, field) => {
    const response = await handler(new Request(`http://test${path}`));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ field });
  });
});
