/**
 * What the web UI and the event log cost a program: word count and a job of 4,000 empty tasks (the scheduler's
 * 20k tasks/s target), each with the UI and an event log on and with both off, measured in alternating
 * rounds in one process so that both see the same machine load. Target: at most 5 % apart. Also the start-up
 * cost of a context with the UI on versus off (cold: the first context of the process; warm: later ones).
 *
 *   npx tsx bench/ui-overhead.ts [--mb 20] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { performance as perf } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from 'kindling';
import { ensureDataset } from 'kindling/datagen';
import { compare, machine } from './harness.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const mb = arg('--mb', 20);
const rounds = arg('--rounds', 3);
const TASKS = 4000;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kindling-bench-log-'));

console.log(`UI and event log on vs off, ${machine()}`);

// Start-up: the constructor's cost (what a script waits for) and when the UI answers. Cold: a fresh process
// each time (module loading included); warm: later contexts of this process. Medians, on and off alternating.
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const probe = (ui: boolean) => `
  const t0 = performance.now();
  const { Context } = await import('kindling');
  const t1 = performance.now();
  const sc = new Context({ master: 'local[2]', progress: false, ${ui ? `ui: { port: 0 }, eventLog: { dir: ${JSON.stringify(logDir)} }` : 'ui: false'} });
  const t2 = performance.now();
  await sc.uiWebUrl();
  const t3 = performance.now();
  await sc.stop();
  console.log(JSON.stringify({ importMs: t1 - t0, ctorMs: t2 - t1, readyMs: t3 - t1 }));
`;
const cold: Record<'on' | 'off', Array<{ importMs: number; ctorMs: number; readyMs: number }>> = { on: [], off: [] };
for (let i = 0; i < 10; i++) {
  const ui = i % 2 === 0;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe(ui)], { encoding: 'utf8' });
  cold[ui ? 'on' : 'off'].push(JSON.parse(out.trim().split('\n').at(-1)!));
}
const warm: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < 20; i++) {
  const ui = i % 2 === 0;
  const t0 = performance.now();
  const sc = new Context({ master: 'local[2]', progress: false, ...(ui ? { ui: { port: 0 }, eventLog: { dir: logDir } } : { ui: false }) });
  warm[ui ? 'on' : 'off'].push(performance.now() - t0);
  await sc.uiWebUrl();
  await sc.stop();
}
for (const w of ['on', 'off'] as const) {
  const c = cold[w];
  console.log(
    `  start-up, ui ${w.padEnd(3)}: cold import ${median(c.map((x) => x.importMs)).toFixed(1)} ms + constructor ${median(c.map((x) => x.ctorMs)).toFixed(2)} ms` +
      ` (UI listening ${median(c.map((x) => x.readyMs)).toFixed(1)} ms after); warm constructor ${median(warm[w]).toFixed(2)} ms`,
  );
}

const on = new Context({ master: 'local[2]', progress: false, appName: 'bench-ui-on', ui: { port: 0 }, eventLog: { dir: logDir } });
const off = new Context({ master: 'local[2]', progress: false, appName: 'bench-ui-off', ui: false });
const file = await ensureDataset('text', 'data', { bytes: mb * 1024 * 1024 });
const wordCount = (sc: Context) => () =>
  sc
    .textFile(file)
    .flatMap((l) => l.split(' '))
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b)
    .count();
const emptyOn = on.parallelize([], TASKS);
const emptyOff = off.parallelize([], TASKS);

const totals = { wcOn: 0, wcOff: 0, tOn: 0, tOff: 0 };
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs on the warmer (or the more loaded) side of a round.
  const order = r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
  const wc = await compare(
    `ui-overhead-wordcount-${mb}MiB`,
    order.map((w) => ({ name: `word count ${mb} MiB, ui ${w}`, run: wordCount(w === 'on' ? on : off) })),
  );
  const tasks = await compare(
    'ui-overhead-empty-tasks',
    order.map((w) => ({ name: `${TASKS} empty tasks, ui ${w}`, run: () => (w === 'on' ? emptyOn : emptyOff).count() })),
    20,
  );
  order.forEach((w, i) => {
    if (w === 'on') {
      totals.wcOn += wc[i]!.meanMs;
      totals.tOn += tasks[i]!.meanMs;
    } else {
      totals.wcOff += wc[i]!.meanMs;
      totals.tOff += tasks[i]!.meanMs;
    }
  });
}
// The driver's own work per job (event-loop busy time, which other processes' load disturbs less than wall
// time): the UI and the log run on the driver's thread, so this is where they cost.
const busy: Record<'on' | 'off', number[]> = { on: [], off: [] };
for (let i = 0; i < 40; i++) {
  const w = i % 2 === 0 ? 'on' : 'off';
  const before = perf.eventLoopUtilization();
  await (w === 'on' ? emptyOn : emptyOff).count();
  busy[w].push(perf.eventLoopUtilization(before).active);
}
const medianBusy = { on: [...busy.on].sort((a, b) => a - b)[20 / 2]!, off: [...busy.off].sort((a, b) => a - b)[20 / 2]! };
console.log(
  `driver busy per ${TASKS}-task job (median of 20): on ${medianBusy.on.toFixed(1)} ms, off ${medianBusy.off.toFixed(1)} ms: ` +
    `${(((medianBusy.on - medianBusy.off) / TASKS) * 1000).toFixed(2)} µs more per task`,
);
const pct = (a: number, b: number) => `${(((a - b) / b) * 100).toFixed(1)} %`;
console.log(
  `word count: on ${(totals.wcOn / rounds).toFixed(0)} ms, off ${(totals.wcOff / rounds).toFixed(0)} ms: on is ${pct(totals.wcOn, totals.wcOff)} slower (target <= 5 %)`,
);
console.log(
  `empty tasks/s: on ${Math.round(TASKS / (totals.tOn / rounds / 1000))}, off ${Math.round(TASKS / (totals.tOff / rounds / 1000))}: on is ${pct(totals.tOn, totals.tOff)} slower (target <= 5 %)`,
);
await Promise.all([on.stop(), off.stop()]);
rmSync(logDir, { recursive: true, force: true });
