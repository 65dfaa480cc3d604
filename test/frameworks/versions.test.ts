/**
 * Which majors of express and fastify this run loaded: 5 by default, 4 under `npm run test:frameworks4` (npm aliases
 * `express4`/`fastify4`, mapped by vitest.frameworks4.config.ts). Fails when the mapping silently stops working, so
 * the major-4 run cannot pass on major 5 by mistake.
 */
import express from 'express';
import Fastify from 'fastify';
import { expect, it } from 'vitest';

const major = process.env.FRAMEWORKS_MAJOR ?? '5';

it(`loads express ${major} and fastify ${major}`, async () => {
  const app = Fastify();
  try {
    expect(app.version.split('.')[0]).toBe(major);
  } finally {
    await app.close();
  }
  // Express 5 removed app.del (deprecated since 4).
  expect(typeof (express() as unknown as { del?: unknown }).del === 'function').toBe(major === '4');
});
