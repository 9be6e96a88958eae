/**
 * The UI's thread runs as background work (src/ui/thread-priority.ts): on Linux it lowers its own priority when it
 * starts, and only its own: the driver's thread and the context's workers keep the process's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Context } from 'kindling';
import { describe, expect, it } from 'vitest';
import { UI_THREAD_NICE } from '../../src/ui/thread-priority.js';
import { get } from './http-helpers.js';

/** Each thread of this process and its nice value (field 19 of /proc/self/task/TID/stat; the name before may hold spaces). */
function niceByThread(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]));
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return nice;
}

describe.runIf(process.platform === 'linux')("the UI's thread's priority", () => {
  it('is lowered for the UI thread alone: the driver and the workers keep the process’s', async () => {
    const own = os.getPriority();
    expect(own).toBeLessThan(UI_THREAD_NICE);
    const sc = new Context({ master: 'local[2]', progress: false, ui: { port: 0 } });
    try {
      expect(await sc.parallelize([1, 2, 3, 4], 4).count()).toBe(4);
      const before = niceByThread();
      expect([...before.values()].every((n) => n === own)).toBe(true);
      // The first request starts the thread, which lowers its priority before it reads a message: by its answer.
      const url = await sc.uiWebUrl();
      await get(`${url}/api/v1/applications/${sc.applicationId}/jobs`);
      expect(await sc.parallelize([1, 2, 3, 4], 4).count()).toBe(4);
      const after = niceByThread();
      const lowered = [...after].filter(([, n]) => n === UI_THREAD_NICE).map(([tid]) => tid);
      expect(lowered).toHaveLength(1);
      expect(before.has(lowered[0]!)).toBe(false);
      expect(after.get(process.pid)).toBe(own);
      for (const [tid, n] of after) if (tid !== lowered[0]) expect([tid, n]).toEqual([tid, own]);
      // The lowered thread is background work, not a stalled one: the API still follows the jobs.
      const jobs = await get(`${url}/api/v1/applications/${sc.applicationId}/jobs`);
      expect(jobs.map((j: { status: string }) => j.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    } finally {
      await sc.stop();
    }
  });

  it('lowerThreadPriority names the thread it lowered, and leaves the caller’s other threads alone', async () => {
    const own = os.getPriority();
    // The built module (a worker cannot run the TypeScript source), as the UI's thread runs it.
    const module = new URL('../../dist/ui/thread-priority.js', import.meta.url).href;
    const worker = new Worker(
      `import(${JSON.stringify(module)}).then((m) => require('node:worker_threads').parentPort.postMessage(m.lowerThreadPriority(12)));`,
      { eval: true },
    );
    try {
      const tid = await new Promise<number | undefined>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(tid).toBeGreaterThan(0);
      expect(niceByThread().get(tid!)).toBe(12);
      expect(os.getPriority()).toBe(own);
    } finally {
      await worker.terminate();
    }
  });
});
