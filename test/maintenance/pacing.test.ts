/**
 * The pace of cleanup as a pure rule (no database): how statement size and pauses follow what the database's counters
 * say of other writers and how long each statement took against the quietest one of its size.
 */
import { describe, expect, it } from 'vitest';
import { CleanupPacer } from '../../src/maintenance/pacing.js';

const options = { gentleRows: 100, maxRows: 5000, pauseRatio: 2, maxStatementMs: 150 };

describe('CleanupPacer', () => {
  it('starts gentle and stays gentle, pausing pauseRatio times each statement, until the counters cover a window', () => {
    const pacer = new CleanupPacer(options);
    expect(pacer.size).toBe(100);
    expect(pacer.observe(100, 3, 'pending')).toBe(6);
    expect(pacer.size).toBe(100);
  });

  it('doubles the statement with no pause while nothing else writes, up to the batch and to maxStatementMs', () => {
    const pacer = new CleanupPacer(options);
    const sizes: number[] = [];
    for (let i = 0; i < 10; i++) {
      // 0.01 ms per row: the cap of 150 ms is 15,000 rows, so the batch (5000) bounds it.
      expect(pacer.observe(pacer.size, pacer.size * 0.01, 'quiet')).toBe(0);
      sizes.push(pacer.size);
    }
    expect(sizes).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000, 5000]);
    const slowRows = new CleanupPacer(options);
    // 0.1 ms per row: 1500 rows fill 150 ms.
    for (let i = 0; i < 10; i++) slowRows.observe(slowRows.size, slowRows.size * 0.1, 'unknown');
    expect(slowRows.size).toBe(1500);
  });

  it('drops to gentle statements with pauses as soon as others write, and grows again once they stop', () => {
    const pacer = new CleanupPacer(options);
    for (let i = 0; i < 6; i++) pacer.observe(pacer.size, pacer.size * 0.01, 'quiet');
    expect(pacer.size).toBe(5000);
    expect(pacer.observe(5000, 50, 'busy')).toBe(100);
    expect(pacer.size).toBe(100);
    expect(pacer.observe(100, 2, 'busy')).toBe(4);
    expect(pacer.observe(100, 1, 'quiet')).toBe(0);
    expect(pacer.size).toBe(200);
  });

  it('without counters (SQLite), a statement much slower per row than the quietest of its size means busy', () => {
    const pacer = new CleanupPacer(options);
    for (let i = 0; i < 4; i++) pacer.observe(pacer.size, pacer.size * 0.01, 'unknown');
    expect(pacer.size).toBe(1600);
    // Same size, three times slower per row: someone else has the database.
    pacer.observe(1600, 16, 'unknown');
    expect(pacer.observe(1600, 48, 'unknown')).toBe(96);
    expect(pacer.size).toBe(100);
    // Tiny statements are not judged on timer noise.
    const noisy = new CleanupPacer(options);
    noisy.observe(100, 0.5, 'unknown');
    noisy.size = 100;
    expect(noisy.observe(100, 3, 'unknown')).toBe(0);
    expect(noisy.size).toBe(200);
  });
});
