/**
 * Partitions read back from disk: an RDD of 2M numbers and one of 2M `[int, double]` pairs, persisted DISK_ONLY,
 * and the pairs checkpointed (`checkpoint()`), 8 partitions on `local[2]`; one action fills the cache or writes the
 * checkpoint, then `--reads` actions each read every partition from its file (the time of each read action, median).
 * Warm (within one process): the path a program that caches DISK_ONLY, spills MEMORY_AND_DISK or recovers from a
 * checkpoint meets in every later iteration. Each process also reports its peak RSS. There is no plain-program
 * baseline: the comparison is the disk format of two builds.
 *
 * With `--baseline DIR` (an earlier build's dist/ inside this checkout, so that it finds node_modules), the same in
 * fresh processes of that build, alternating with this one (order swapped each round), and the paired difference.
 *
 *   npx tsx bench/disk-blocks.ts [--rounds 5] [--reads 5] [--baseline .bench-old/dist]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine, numberArg } from './harness.js';
import { formatPaired, median, pairedDifference } from './paired.js';

const rounds = numberArg('--rounds', 5);
const reads = numberArg('--reads', 5);
const at = process.argv.indexOf('--baseline');
const builds: Record<string, string> = { main: fileURLToPath(new URL('../dist', import.meta.url)) };
if (at > 0) builds.baseline = path.resolve(process.argv[at + 1]!);

const entryOf = (dist: string): string =>
  pathToFileURL(existsSync(path.join(dist, 'entry.js')) ? path.join(dist, 'entry.js') : path.join(dist, 'index.js')).href;

/** One fresh process of `dist`: ms per read action of each RDD (median of `reads`), and a checksum of what it read. */
type Row = { numbers: number; pairs: number; checkpointed: number; check: number; peakRssMB: number };
function run(dist: string): Row {
  const code = `
    const { Context, StorageLevel } = await import(${JSON.stringify(entryOf(dist))});
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false });
    const { mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync((await import('node:os')).tmpdir() + '/kindling-disk-blocks-');
    sc.setCheckpointDir(dir);
    const numbers = sc.range(2_000_000, undefined, 1, 8).map((i) => i * 0.5).persist(StorageLevel.DISK_ONLY);
    const pairs = sc.range(2_000_000, undefined, 1, 8).map((i) => [i, i / 3]).persist(StorageLevel.DISK_ONLY);
    const checkpointed = sc.range(2_000_000, undefined, 1, 8).map((i) => [i, i / 3]);
    checkpointed.checkpoint();
    const second = (r) => r.map((p) => p[1]).sum();
    const out = { check: (await numbers.sum()) + (await second(pairs)) + (await second(checkpointed)) };
    for (const [name, rdd, read] of [['numbers', numbers, (r) => r.sum()], ['pairs', pairs, second], ['checkpointed', checkpointed, second]]) {
      const ms = [];
      for (let i = 0; i < ${reads}; i++) {
        const t = performance.now();
        const s = await read(rdd);
        ms.push(performance.now() - t);
        out.check += s;
      }
      out[name] = ms.sort((a, b) => a - b)[ms.length >> 1];
    }
    await sc.stop();
    rmSync(dir, { recursive: true, force: true });
    // The whole process's peak (the driver and both workers are threads of it), in MB.
    out.peakRssMB = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify(out));
  `;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: path.dirname(builds.main!) });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Row;
}

console.log(`reads from disk, 2M numbers and 2M pairs (DISK_ONLY), 2M pairs (checkpointed), 8 partitions each, local[2], ${machine()}`);
const got: Record<string, Row[]> = {};
for (let r = 0; r < rounds; r++) {
  const order = Object.keys(builds);
  if (r % 2 === 1) order.reverse();
  for (const name of order) (got[name] ??= []).push(run(builds[name]!));
}
const checks = new Set(Object.values(got).flatMap((rs) => rs.map((x) => x.check)));
if (checks.size !== 1) throw new Error(`the builds read different data: checksums ${[...checks].join(', ')}`);
for (const [name, rs] of Object.entries(got)) {
  const ms = (what: keyof Row) => median(rs.map((x) => x[what])).toFixed(1);
  console.log(
    `  ${name}: a read action of the numbers ${ms('numbers')} ms, of the pairs ${ms('pairs')} ms, of the checkpointed pairs ${ms('checkpointed')} ms; peak RSS ${ms('peakRssMB')} MB (medians of ${rs.length} processes)`,
  );
}
if (got.baseline !== undefined) {
  for (const what of ['numbers', 'pairs', 'checkpointed'] as const) {
    console.log(
      `  main vs baseline, ${what}: ${formatPaired(
        pairedDifference(
          got.main!.map((x) => x[what]),
          got.baseline.map((x) => x[what]),
        ),
      )}`,
    );
  }
}
