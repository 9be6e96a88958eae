/**
 * Context.getOrCreate (Spark's SparkContext.getOrCreate): the newest live context of the process, or a new one when
 * none is live; options given while one is live do not apply to it, and a warning says so.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Context } from 'kindling';

const made: Context[] = [];
afterEach(async () => {
  await Promise.all(made.splice(0).map((c) => c.stop()));
  vi.restoreAllMocks();
});

describe('Context.getOrCreate', () => {
  it('makes a context when none is live, then returns that one until it stops', async () => {
    const sc = Context.getOrCreate({ master: 'local[2]', progress: false, ui: false, appName: 'first' });
    made.push(sc);
    expect(sc.options.appName).toBe('first');
    expect(Context.getOrCreate()).toBe(sc);
    expect(await Context.getOrCreate().parallelize([1, 2, 3], 2).count()).toBe(3);
    await sc.stop();
    const next = Context.getOrCreate({ master: 'local[1]', progress: false, ui: false, appName: 'second' });
    made.push(next);
    expect(next).not.toBe(sc);
    expect(next.options.appName).toBe('second');
  });

  it('returns the newest live context, and warns that options given then do not apply', async () => {
    const older = new Context({ master: 'local[1]', progress: false, ui: false, appName: 'older' });
    const newer = new Context({ master: 'local[1]', progress: false, ui: false, appName: 'newer' });
    made.push(older, newer);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(Context.getOrCreate({ appName: 'ignored' })).toBe(newer);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      "kindling: Context.getOrCreate: using the existing context 'newer'; the options given do not apply to it",
    ]);
    await newer.stop();
    expect(Context.getOrCreate()).toBe(older);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
