/**
 * Self time per function in CPU profiles, counting only the samples taken while some job of a range ran: what one
 * thread (the driver, each worker) spent on a program's later iterations, without its start-up and first load. The
 * job windows come from the `MARKS` line that `bench/pagerank-timeline.ts` prints (monotonic microseconds, the
 * clock of V8's profiles); worker threads inherit `--cpu-prof` and write one profile each.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/pagerank-timeline.ts --iterations 30 > /tmp/prof/out.txt
 *   npx tsx bench/profile-window.ts /tmp/prof/out.txt --jobs 5-30 [--top 30] /tmp/prof/*.cpuprofile
 *
 * (`--cpu-prof-interval` is refused by worker threads; the default 1 ms interval applies.)
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
};
const [from, to] = (option('--jobs') ?? '2-1000000').split('-').map(Number) as [number, number];
const top = Number(option('--top') ?? 30);
const [marksFile, ...profiles] = args;
if (marksFile === undefined || profiles.length === 0) {
  console.log('usage: npx tsx bench/profile-window.ts TIMELINE_OUTPUT --jobs FROM-TO [--top N] PROFILE.cpuprofile...');
  process.exit(0);
}

const marksLine = readFileSync(marksFile, 'utf8')
  .split('\n')
  .find((l) => l.startsWith('MARKS '));
if (marksLine === undefined) throw new Error(`${marksFile} has no MARKS line (the output of bench/pagerank-timeline.ts)`);
const starts = new Map<number, number>();
const windows: Array<[number, number]> = [];
for (const mark of marksLine.slice('MARKS '.length).split(', ')) {
  const [, job, kind, micros] = mark.split(' ') as [string, string, string, string];
  if (kind === 'start') starts.set(Number(job), Number(micros));
  else if (Number(job) >= from && Number(job) <= to) windows.push([starts.get(Number(job))!, Number(micros)]);
}
const inWindow = (t: number): boolean => windows.some(([a, b]) => t >= a && t <= b);
const wallMs = windows.reduce((sum, [a, b]) => sum + b - a, 0) / 1000;
console.log(`${windows.length} jobs (${from}-${to}), ${wallMs.toFixed(1)} ms of wall between their starts and ends`);

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
for (const file of profiles) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (!inWindow(t)) continue;
    // A sample stands for the time until the next one.
    const dt = p.timeDeltas[i + 1] ?? 0;
    const f = frames.get(p.samples[i]!)!;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').at(-1)}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  console.log(`\n${file}: ${(total / 1000).toFixed(1)} ms sampled in the windows`);
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / Math.max(total, 1)).toFixed(1).padStart(5)} %  ${key}`);
  }
}
