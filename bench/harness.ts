/**
 * A thin layer over benchmark.js for multi-second async workloads: runs the named cases of one workload side by
 * side in one process (so ratios are measured under the same machine load), reports mean and relative margin
 * of error, and appends the results as JSON lines to `.bench-out/results.jsonl` for docs/benchmarks.md.
 */
import Benchmark from 'benchmark';
import os from 'node:os';
import { appendFileSync, mkdirSync } from 'node:fs';

export interface CaseResult {
  readonly name: string;
  readonly meanMs: number;
  readonly rme: number;
  readonly samples: number;
}

export interface BenchCase {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/** Runs each case `minSamples` times or more (benchmark.js decides), one case after another. */
export async function compare(workload: string, cases: readonly BenchCase[], minSamples = 5): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    await c.run(); // warm-up: JIT, worker start, file cache
    const r = await new Promise<CaseResult>((resolve, reject) => {
      const bench = new Benchmark(c.name, {
        defer: true,
        minSamples,
        maxTime: 1,
        fn: (deferred: { resolve(): void }) => {
          c.run().then(
            () => deferred.resolve(),
            (e: unknown) => reject(e),
          );
        },
        onComplete: function (this: Benchmark) {
          resolve({ name: c.name, meanMs: this.stats.mean * 1000, rme: this.stats.rme, samples: this.stats.sample.length });
        },
        onError: (e: unknown) => reject(e),
      });
      bench.run({ async: true });
    });
    console.log(`  ${r.name.padEnd(34)} ${r.meanMs.toFixed(1).padStart(9)} ms  ±${r.rme.toFixed(1)}%  (${r.samples} runs)`);
    results.push(r);
  }
  record(workload, results);
  return results;
}

export function machine(): string {
  return `${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}`;
}

function record(workload: string, results: readonly CaseResult[]): void {
  mkdirSync('.bench-out', { recursive: true });
  appendFileSync('.bench-out/results.jsonl', JSON.stringify({ workload, time: new Date().toISOString(), machine: machine(), results }) + '\n');
}

/** The number after `name` on the command line (`--runs 50`), or `fallback`. */
export function numberArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}
