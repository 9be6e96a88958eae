/**
 * Lines and bytes an event log gets for a job of 4,000 tasks, by line type: what a change to the log's writer costs
 * in the file. Run against two builds side by side (the entry of each `dist`):
 *
 *   node bench/event-log-lines.mjs dist/entry.js [workers=4] [jobs=1] [taskMs=0]
 *
 * Prints one JSON line: wall time, total bytes and lines, and lines and bytes per type.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [entry = 'dist/entry.js', workers = '4', jobs = '1', taskMs = '0'] = process.argv.slice(2);
const { Context, capture } = await import(pathToFileURL(path.resolve(entry)).href);
const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-log-lines-'));
const sc = new Context({ master: `local[${workers}]`, progress: false, hints: false, ui: false, eventLog: { dir } });
const data = Array.from({ length: 4000 }, (_, i) => i);
const spin = Number(taskMs);
const t0 = performance.now();
for (let j = 0; j < Number(jobs); j++) {
  await sc
    .parallelize(data, 4000)
    .map(
      capture({ spin }, (x) => {
        const t = Date.now();
        while (Date.now() - t < spin);
        return x;
      }),
    )
    .count();
}
const wallMs = Math.round(performance.now() - t0);
await sc.stop();
const text = readFileSync(path.join(dir, `${sc.applicationId}.jsonl`), 'utf8');
const byType = {};
let lines = 0;
for (const l of text.split('\n')) {
  if (l === '') continue;
  lines++;
  const t = JSON.parse(l).type;
  byType[t] ??= { lines: 0, bytes: 0 };
  byType[t].lines++;
  byType[t].bytes += Buffer.byteLength(l) + 1;
}
console.log(JSON.stringify({ workers: Number(workers), jobs: Number(jobs), taskMs: spin, wallMs, bytes: Buffer.byteLength(text), lines, byType }));
rmSync(dir, { recursive: true, force: true });
