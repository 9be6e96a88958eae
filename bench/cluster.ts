/**
 * The cluster backend's costs, each measured side by side with `local[2]` in one run:
 * 1. empty tasks through Redis (one job of 4,000 empty partitions) and a tiny job, on `local-cluster[2]`
 *    (targets: >= 10,000 tasks/s, a tiny job under 20 ms);
 * 2. word count over the 50 MiB corpus, `local-cluster[2]` / `local[2]` (target <= 1.3x);
 * 3. block transfer between two processes on loopback through the executors' data plane (framing, V8
 *    serialization, HMAC-authenticated TCP; a 64 MiB numeric bucket column, as shuffle buckets travel)
 *    (target >= 500 MB/s);
 * 4. PageRank, links and ranks cached and checkpointed, an executor process SIGKILLed at the start of
 *    iteration 5 (target: recovery iteration <= 2x a normal one).
 * Peak RSS is the driver's plus its executor processes' (VmHWM of each child of this process, from /proc).
 *
 * `--baseline DIR` also measures a built copy of kindling (the `dist/` of an earlier commit, copied aside next to
 * its `bin/`) in the same run: its data plane in the transfer case, its local-cluster in the tasks case.
 *
 *   npx tsx bench/cluster.ts [--mb 50] [--small] [--only tasks,wordcount,transfer,pagerank] [--baseline DIR] [--rounds N]
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { graphInput } from '../examples/pagerank.js';
import { timedPageRank } from './pagerank-timed.js';
import * as currentWire from '../src/exec/cluster/wire.js';
import { compare, machine } from './harness.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

const baseline = arg('--baseline');
type Wire = typeof currentWire;
const baselineWire = async (): Promise<Wire> => (await import(`${baseline}/exec/cluster/wire.js`)) as Wire;

// The serving side of the transfer benchmark runs in a process of its own.
if (process.argv.includes('--serve')) {
  const wire = process.argv.includes('--serve-baseline') ? await baselineWire() : currentWire;
  const column = new Float64Array(8 * 2 ** 20).map((_, i) => i * 0.5);
  const server = await wire.startFrameServer(
    '127.0.0.1',
    0,
    'bench-secret',
    async () => [{ length: column.length, columns: [column] }],
    () => undefined,
  );
  console.log(`port ${server.port}`);
  await new Promise(() => undefined);
}

const only = new Set((arg('--only') ?? 'tasks,wordcount,transfer,pagerank').split(','));
const mb = Number(arg('--mb') ?? 50);
const small = process.argv.includes('--small');
const wcRounds = Number(arg('--rounds') ?? 6);

/** Peak resident set of this process and each of its children (executor processes, redis-server), in MiB. */
function peakRssMiB(): { driver: number; children: number } {
  const driver = process.resourceUsage().maxRSS / 1024;
  let children = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (Number(/PPid:\s+(\d+)/.exec(status)?.[1]) !== process.pid) continue;
      children += Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    } catch {
      // gone meanwhile
    }
  }
  return { driver, children };
}

const rssLine = () => {
  const r = peakRssMiB();
  return `peak RSS: driver ${r.driver.toFixed(0)} MiB + children ${r.children.toFixed(0)} MiB`;
};

console.log(
  `cluster benchmarks, ${machine()}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

if (only.has('tasks')) {
  const TASKS = 4000;
  const rounds = Number(arg('--rounds') ?? 15);
  const local = new Context({ master: 'local[2]', progress: false, ui: false });
  const cluster = new Context({ master: 'local-cluster[2]', progress: false, ui: false });
  // The baseline build's own Context, whose local-cluster starts that build's executors.
  const Old = baseline === undefined ? undefined : ((await import(`${baseline}/index.js`)) as { Context: typeof Context }).Context;
  const old = Old === undefined ? undefined : new Old({ master: 'local-cluster[2]', progress: false, ui: false });
  const t0 = performance.now();
  await cluster.range(0, 2, 1, 2).count();
  console.log(`local-cluster[2] start-up to first job done (cold): ${(performance.now() - t0).toFixed(0)} ms`);
  await old?.range(0, 2, 1, 2).count();
  const variants: Array<[string, Context]> = [
    ['local[2]', local],
    ['local-cluster[2]', cluster],
    ...(old === undefined ? [] : ([['local-cluster[2] baseline', old]] as Array<[string, Context]>)),
  ];
  // Rounds interleave the variants, so a change of load on this shared machine hits them alike.
  const times = new Map<string, { empty: number[]; tiny: number[] }>(variants.map(([n]) => [n, { empty: [], tiny: [] }]));
  for (let r = -2; r < rounds; r++) {
    for (const [name, sc] of variants) {
      let t = performance.now();
      await sc.parallelize([], TASKS).count();
      const empty = performance.now() - t;
      t = performance.now();
      await sc.parallelize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).count();
      const tiny = performance.now() - t;
      if (r < 0) continue; // warm-up rounds
      times.get(name)!.empty.push(empty);
      times.get(name)!.tiny.push(tiny);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${TASKS} empty tasks and a tiny job, ${rounds} interleaved rounds (median; best):`);
  for (const [name, t] of times) {
    const rate = (ms: number) => Math.round(TASKS / (ms / 1000));
    console.log(
      `  ${name.padEnd(28)} ${String(rate(median(t.empty))).padStart(6)} tasks/s (best ${rate(Math.min(...t.empty))}); tiny job ${median(t.tiny).toFixed(2)} ms`,
    );
  }
  console.log('targets: >= 10000 empty tasks/s through Redis, a tiny job under 20 ms');
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(rssLine());
  await Promise.all([local.stop(), cluster.stop(), old?.stop()]);
}

if (only.has('wordcount')) {
  const file = await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 });
  const local = new Context({ master: 'local[2]', progress: false, ui: false });
  const cluster = new Context({ master: 'local-cluster[2]', progress: false, ui: false });
  const count = (sc: Context) =>
    sc
      .textFile(file)
      .flatMap((l) => l.split(' '))
      .map((w): [string, number] => [w, 1])
      .reduceByKey((a, b) => a + b)
      .collectAsMap();
  const a = await count(local);
  const b = await count(cluster);
  if (a.size !== b.size || a.get('ba') !== b.get('ba')) throw new Error('local[2] and local-cluster[2] disagree');
  console.log(`word count, ${mb} MiB (${a.size} distinct words), warm; ${wcRounds} interleaved rounds (order alternates)`);
  // Each round runs both, in alternating order, so a change of load on this shared machine hits both alike.
  const ratios: number[] = [];
  const lt: number[] = [];
  const ct: number[] = [];
  for (let r = 0; r < wcRounds; r++) {
    const pair: Array<[Context, number[]]> = [
      [local, lt],
      [cluster, ct],
    ];
    if (r % 2 === 1) pair.reverse();
    for (const [sc, into] of pair) {
      const t = performance.now();
      await count(sc);
      into.push(performance.now() - t);
    }
    ratios.push(ct[r]! / lt[r]!);
    console.log(
      `  round ${r + 1}: local[2] ${lt[r]!.toFixed(0)} ms, local-cluster[2] ${ct[r]!.toFixed(0)} ms, ratio ${ratios[r]!.toFixed(2)}x (load ${os.loadavg()[0]!.toFixed(1)})`,
    );
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(
    `ratio local-cluster[2] / local[2]: median ${med(ratios).toFixed(2)}x (medians ${med(ct).toFixed(0)} / ${med(lt).toFixed(0)} ms) (target <= 1.3x)`,
  );
  console.log(rssLine());
  await Promise.all([local.stop(), cluster.stop()]);
}

if (only.has('transfer')) {
  const bytes = 8 * 2 ** 20 * 8;
  const connect = async (wire: Wire, which: string[]) => {
    const server = spawn(process.execPath, [...process.execArgv, process.argv[1]!, '--serve', ...which], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve) =>
      server.stdout!.on('data', (d: Buffer) => resolve(Number(/port (\d+)/.exec(d.toString())![1]))),
    );
    const client = new wire.FrameClient('127.0.0.1', port, 'bench-secret');
    const got = (await client.request({})) as Array<{ columns: Float64Array[] }>;
    if (got[0]!.columns[0]![12345] !== 12345 * 0.5) throw new Error('the transferred column is wrong');
    return { client, server };
  };
  const sides = [{ name: 'this build', ...(await connect(currentWire, [])) }];
  if (baseline !== undefined)
    sides.push({ name: 'baseline', ...(await connect(await baselineWire(), ['--serve-baseline', '--baseline', baseline])) });
  const results = await compare(
    'cluster-transfer',
    sides.map((s) => ({ name: `${s.name}: fetch a 64 MiB bucket column`, run: () => s.client.request({}) })),
    10,
  );
  for (const [i, r] of results.entries()) {
    console.log(`block transfer over loopback, ${sides[i]!.name}: ${(bytes / 1e6 / (r.meanMs / 1000)).toFixed(0)} MB/s (target >= 500 MB/s)`);
  }
  console.log(rssLine());
  for (const s of sides) {
    s.client.close();
    s.server.kill();
  }
}

if (only.has('pagerank')) {
  const input = await graphInput({ small });
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const run = (master: string, kill: boolean) =>
    timedPageRank(new Context({ master, progress: false, ui: false, hints: false }), input, {
      kill,
      checkpoint: true,
      beforeStop: () => (childrenPeak = Math.max(childrenPeak, peakRssMiB().children)),
    });
  let childrenPeak = 0;
  console.log(`PageRank (${small ? 'small graph' : '100k nodes / 1M edges'}), ranks and links cached + checkpointed`);
  const fmt = (ts: number[]) => ts.map((t) => (t / 1000).toFixed(2)).join('  ');
  const local = await run('local[2]', false);
  const normal = await run('local-cluster[2]', false);
  const faulty = await run('local-cluster[2]', true);
  if (Math.abs(normal.sum - faulty.sum) > 1e-6 * normal.sum || Math.abs(local.sum - faulty.sum) > 1e-6 * local.sum) {
    throw new Error(`ranks differ: ${local.sum} / ${normal.sum} / ${faulty.sum}`);
  }
  console.log(`  local[2], no failure          : ${fmt(local.times)} s`);
  console.log(`  local-cluster[2], no failure  : ${fmt(normal.times)} s`);
  console.log(`  local-cluster[2], kill in 5   : ${fmt(faulty.times)} s`);
  const typical = median(faulty.times.slice(1, 4));
  console.log(
    `  recovery iteration: ${(faulty.times[4]! / typical).toFixed(2)}x a normal one (target <= 2x); iterations 7-10: ${(median(faulty.times.slice(6)) / typical).toFixed(2)}x`,
  );
  console.log(`peak RSS: driver ${peakRssMiB().driver.toFixed(0)} MiB + executors and redis-server ${childrenPeak.toFixed(0)} MiB (one context's)`);
}
