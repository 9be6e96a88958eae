/**
 * What PageRank's process RSS is made of (issue 8): runs the classic program (examples/pagerank.ts, default options
 * but the console bar) on local[2] and, after iteration 1, after the last iteration and at the end, groups
 * `/proc/self/smaps` by mapping: V8's heap pages (256 KiB anonymous mappings, though adjacent ones may merge),
 * glibc's per-thread malloc arenas (where typed-array backing stores live: rw-p mappings starting 64 MiB-aligned),
 * other larger anonymous mappings (merged V8 pages, large objects), the node binary and the rest. Linux only. Compare with `MALLOC_MMAP_THRESHOLD_=131072` in the environment
 * to see how much of the second group is freed malloc memory that glibc kept (docs/benchmarks.md, session 7).
 *
 *   node --import tsx bench/pagerank-rss-parts.ts [--iterations 10] [--small]
 */
import { readFileSync } from 'node:fs';
import { Context } from 'kindling';
import { run } from '../examples/pagerank.js';

const args = process.argv.slice(2);
const i = args.indexOf('--iterations');
const iterations = i >= 0 ? Number(args[i + 1]) : 10;

const ARENA_ALIGN = 64n * 1024n * 1024n;

/** RSS per kind of mapping, MB, largest first. */
function parts(label: string): void {
  const groups = new Map<string, number>();
  let current = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (m) {
      const start = BigInt(`0x${m[1]!}`);
      const mb = Number(BigInt(`0x${m[2]!}`) - start) / 2 ** 20;
      const name = m[4]!.trim();
      if (name.startsWith('/')) current = `file ${name.split('/').pop()}`;
      else if (name !== '') current = name;
      // A thread's glibc arena is a heap reserved 64 MiB-aligned (HEAP_MAX_SIZE), its used part readable.
      else if (m[3] === 'rw-p' && start % ARENA_ALIGN === 0n) current = 'glibc thread arenas';
      else current = `anonymous ${mb >= 1 ? '>= 1 MiB' : '< 1 MiB'} (${m[3]})`;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) groups.set(current, (groups.get(current) ?? 0) + Number(r[1]) / 1024);
  }
  const listed = [...groups].filter(([, v]) => v >= 1).sort((a, b) => b[1] - a[1]);
  console.log(`${label}: rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MB; ${listed.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
}

const sc = new Context({ master: 'local[2]', progress: false });
// The load is three stages, each iteration two (its shuffle's map side, and the action).
let completed = 0;
sc.events.on('stageCompleted', () => {
  completed++;
  if (completed === 5) parts('after iteration 1');
  if (completed === 3 + 2 * iterations) parts(`after iteration ${iterations}`);
});
await run(sc, { iterations, small: args.includes('--small') });
parts('program end');
await sc.stop();
