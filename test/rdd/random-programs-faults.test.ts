/**
 * Random programs with a fault: a worker is killed when the program's k-th task starts (a map task, a result task,
 * a task reading a cached block or a shuffle output that dies with it), and the result must still be the model's
 * (random-programs.ts): lost shuffle outputs and cached blocks recomputed from lineage, the task retried.
 * `FUZZ_RUNS` and `FUZZ_SEED` as in random-programs.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { programs, runKillingKthTask, useFuzzContext } from './random-programs.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.FUZZ_RUNS ?? 40) / 2));
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

describe.each(['memory', 'mapreduce'] as const)('random programs with a worker killed at a random task (local[2], %s engine)', (engine) => {
  const ctx = useFuzzContext({ master: 'local[2]', engine });

  it(`give the model's result (seed ${SEED})`, { timeout: 600_000 }, async () => {
    let programsRun = 0;
    let kills = 0;
    await fc.assert(
      fc.asyncProperty(programs(1500, 6), fc.nat(12), async (prog, k) => {
        programsRun++;
        const sc = ctx();
        if (await runKillingKthTask(sc, prog, k)) kills++;
        // The context stays usable: the next program runs on the replaced worker.
        expect(await sc.parallelize([1, 2, 3], 2).count()).toBe(3);
      }),
      { numRuns: RUNS, seed: SEED + (engine === 'memory' ? 10 : 11), endOnFailure: true },
    );
    console.log(`random programs with a fault (${engine}): ${programsRun} programs, ${kills} kills, seed ${SEED + (engine === 'memory' ? 10 : 11)}`);
    // The kills must have happened, or this specifies less than it says.
    expect(kills).toBeGreaterThan(0);
  });
});
