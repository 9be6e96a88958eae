/**
 * Workers start from one bundled file (scripts/bundle.js, run by `npm run build`) rather than ~90 modules,
 * which was most of a worker's start-up. The bundle is used only while it is current; a stale or missing one falls
 * back to the modules (test/util/bundle.test.ts), so a build without the bundling step can never run an older build's code in workers.
 * Every worker thread, local or an executor's, starts with its young generation capped (workerResourceLimits).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Context, capture, useModule } from 'kindling';
import { WORKER_YOUNG_GENERATION_MB } from '../../../src/exec/local/worker-entry.js';
import { MODES } from '../../rdd/helpers.js';

// For the types of what the task's function captures (the names are bound to the modules in the worker).
const v8 = await import('node:v8');
const threads = await import('node:worker_threads');

const dist = path.resolve(import.meta.dirname, '../../../dist/exec/local');

/** A script for a child process: a context's two workers report what they did with the code cache. */
const childScript = `
  const { Context } = await import(${JSON.stringify(pathToFileURL(path.resolve(import.meta.dirname, '../../../dist/index.js')).href)});
  const sc = new Context({ master: 'local[2]', progress: false, ui: false });
  const uses = await sc.parallelize([0, 1], 2).map(() => globalThis[Symbol.for('kindling.workerCodeCache')]).collect();
  await sc.stop();
  console.log(JSON.stringify(uses));
`;

describe('worker entry', () => {
  it('the build leaves a current bundle, and the workers start from it (through worker-start.cjs, which runs it)', async () => {
    const bundle = path.join(dist, 'worker-bundle.cjs');
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(path.join(dist, 'worker-main.js')).mtimeMs);
    const built = (await import(path.join(dist, 'worker-entry.js'))) as typeof import('../../../src/exec/local/worker-entry.js');
    expect(fileURLToPath(built.workerEntry())).toBe(path.join(dist, 'worker-start.cjs'));
    expect(readFileSync(path.join(dist, 'worker-start.cjs'), 'utf8')).toContain("'worker-bundle.cjs'");
  });

  it("compiles the bundle with V8's code cache: the first worker without one writes it, a later worker's V8 accepts it", async () => {
    const cacheUse = () => (globalThis as Record<symbol, unknown>)[Symbol.for('kindling.workerCodeCache')];
    const uses = async (): Promise<unknown[]> => {
      const sc = new Context({ master: 'local[2]', progress: false, ui: false });
      try {
        return await sc.parallelize([0, 1], 2).map(cacheUse).collect();
      } finally {
        await sc.stop();
      }
    };
    const first = await uses();
    // Another test file's workers may have written it already.
    for (const u of first) expect(['written', 'accepted']).toContain(u);
    // Named after the bundle it was made from, and the flags of the process that made it.
    const { mtimeMs, size } = statSync(path.join(dist, 'worker-bundle.cjs'));
    const named = new RegExp(`^worker-bundle\\.cjs\\.${Math.round(mtimeMs * 1000)}-${size}-[0-9a-f]{8}\\.cache$`);
    expect(readdirSync(dist).filter((f) => named.test(f)).length).toBeGreaterThanOrEqual(1);
    expect(await uses()).toEqual(['accepted', 'accepted']);
    // A process with other V8 flags (V8 rejects a cache made under other flags) keeps a cache of its own, so it does
    // not replace this process's: under one name each rejected and overwrote the other's (a CI run saw a context's
    // second worker write it again).
    for (const flag of ['--max-old-space-size=3000', '--expose-gc']) {
      const out = execFileSync(process.execPath, [flag, '--input-type=module', '-e', childScript], { encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(out.trim().split('\n').at(-1)!)).toHaveLength(2);
      expect(await uses()).toEqual(['accepted', 'accepted']);
    }
  });

  it("profiling flags whose value is the next argument reach the workers with it (Node refused a worker's flag without one)", () => {
    // `--cpu-prof-dir DIR` as well as `--cpu-prof-dir=DIR`: the pool kept the flag and dropped its value, and every
    // worker's start threw ERR_WORKER_INVALID_EXEC_ARGV, so a context could not start under a profiler's usual flags.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-prof-'));
    try {
      const flags = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '5000'];
      const out = execFileSync(process.execPath, [...flags, '--input-type=module', '-e', childScript], { encoding: 'utf8', timeout: 60_000 });
      expect(JSON.parse(out.trim().split('\n').at(-1)!)).toHaveLength(2);
      // The driver's profile and each worker's, all in the named folder.
      expect(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).length).toBeGreaterThanOrEqual(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the bundle holds the worker side only: none of the driver-only packages', () => {
    // The bundle's source map lists every file bundled into it.
    const { sources } = JSON.parse(readFileSync(path.join(dist, 'worker-bundle.cjs.map'), 'utf8')) as { sources: string[] };
    const files = sources.map((s) => s.replaceAll('\\', '/'));
    for (const f of ['exec/executor', 'rdd/rdd', 'shuffle/combine', 'io/line-reader', 'comlink', 'lru-cache']) {
      expect(files.some((s) => s.includes(f))).toBe(true);
    }
    for (const p of ['acorn', 'eslint-scope', 'estraverse', 'tinyglobby', 'ioredis', 'closure/analyze', 'context/context', 'scheduler/']) {
      expect(files.filter((s) => s.includes(p))).toEqual([]);
    }
  });
});

describe.each(MODES)("a worker's heap limits (%s)", (master) => {
  it('caps the young generation at WORKER_YOUNG_GENERATION_MB: records surviving scavenges do not grow it to V8 default 32 MiB', async () => {
    expect(WORKER_YOUNG_GENERATION_MB).toBe(24);
    const sc = new Context({ master, progress: false, memory: { workerMB: 512 } });
    try {
      const seen = await sc
        .parallelize([0, 1], 2)
        .map(
          capture({ v8: useModule('node:v8'), threads: useModule('node:worker_threads') }, () => {
            // Live sets of ~200k small objects kept across many scavenges: V8 grows the semi-spaces to their limit.
            const keep: unknown[][] = [];
            for (let r = 0; r < 8; r++) {
              const batch: unknown[] = [];
              for (let i = 0; i < 200_000; i++) batch.push({ i, list: [i] });
              keep.push(batch);
              if (keep.length > 3) keep.shift();
            }
            const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!;
            return {
              newSpace: space.space_size,
              young: threads.resourceLimits.maxYoungGenerationSizeMb,
              old: threads.resourceLimits.maxOldGenerationSizeMb,
              kept: keep.length,
            };
          }),
        )
        .collect();
      for (const s of seen) {
        expect(s.kept).toBe(3);
        expect(s.young).toBe(WORKER_YOUNG_GENERATION_MB);
        // Two semi-spaces of a third of the young generation each.
        expect(s.newSpace).toBeLessThanOrEqual(((2 * WORKER_YOUNG_GENERATION_MB) / 3) * 2 ** 20);
        if (master !== 'local-cluster[2]') expect(s.old).toBe(512);
      }
    } finally {
      await sc.stop();
    }
  });
});
