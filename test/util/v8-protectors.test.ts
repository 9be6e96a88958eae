/**
 * Worker threads give up V8's ArrayBufferDetaching promise at their start (util/v8-protectors.ts), so that their
 * first transfer does not throw away everything optimized before it. Seen from outside with V8's own trace of
 * protector invalidations, which prints one line per isolate that breaks the promise.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const INVALIDATED = /Invalidating protector cell ArrayBufferDetaching/g;
const traced = (args: string[]): number =>
  (execFileSync(process.execPath, ['--trace-protector-invalidation', ...args], { encoding: 'utf8', timeout: 120_000 }).match(INVALIDATED) ?? [])
    .length;

describe('detachOnce', () => {
  it('breaks the promise in the thread that calls it', () => {
    expect(traced(['--input-type=module', '-e', "import { detachOnce } from './dist/util/v8-protectors.js'; detachOnce();"])).toBe(1);
    // Without it a thread that transfers nothing keeps the promise.
    expect(traced(['--input-type=module', '-e', 'new Float64Array(8).fill(1);'])).toBe(0);
  });

  it('runs in every worker before its first task, even a job that transfers nothing', () => {
    // A count posts no buffers: each worker's line can only come from its start.
    const job = `
import { Context } from 'kindling';
const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
await sc.parallelize([1, 2, 3, 4], 2).count();
await sc.stop();`;
    const driverOnly = traced(['--input-type=module', '-e', "import 'kindling';"]);
    expect(traced(['--input-type=module', '-e', job]) - driverOnly).toBeGreaterThanOrEqual(2);
  });
});
