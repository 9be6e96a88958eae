// The hot-key job of test/shuffle/heap-guard.test.ts as a plain script, to run against any built tree (session 8):
//   /usr/bin/time -f '%U+%S s' node bench/hot-key.mjs /work/base
// prints how the job ended (HeapLimitError or a worker's OOM), the workers lost, the job's ms, and a count after it.
const tree = process.argv[2];
const { Context } = await import(`${tree}/dist/index.js`);
const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: 64 }, maxTaskFailures: 2, maxStageAttempts: 2 });
let lost = 0;
sc.events.on('workerLost', () => void lost++);
const t0 = performance.now();
const err = await sc
  .range(600_000, undefined, 1, 2)
  .map((x) => [0, `value-${x}-${'z'.repeat(40)}`])
  .groupByKey(2)
  .mapValues((vs) => vs.length)
  .collect()
  .then(
    () => undefined,
    (e) => e,
  );
const ms = Math.round(performance.now() - t0);
const after = await sc.range(10).count();
await sc.stop();
const kind = /HeapLimitError/.test(err?.message ?? '')
  ? 'HeapLimitError'
  : /ran out of memory/.test(err?.message ?? '')
    ? 'worker OOM'
    : (err?.message ?? 'no error').slice(0, 80);
console.log(JSON.stringify({ tree, kind, lost, jobMs: ms, after }));
