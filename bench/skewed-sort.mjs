// A sortByKey skewed onto one key (90 % of the records), folded in the tasks, on local[2] with one task attempt:
// whether the hot reduce partition fits, how long it takes, and what its task spilled (session 11).
// usage: node bench/skewed-sort.mjs <built kindling dir> <records> <memory.workerMB>
const [dir, N, mb] = process.argv.slice(2);
const { Context } = await import(`${dir}/dist/index.js`);
const sc = new Context({ master: 'local[2]', progress: false, hints: false, memory: { workerMB: Number(mb) }, maxTaskFailures: 1 });
const ends = [];
sc.events.on('taskEnd', (e) => ends.push(e));
const t0 = performance.now();
try {
  const n = Number(N);
  const pairs = sc.range(0, n, 1, 4).map((i) => [i % 10 < 9 ? 7 : i, i]);
  const r = await pairs.sortByKey(true, 2).aggregate(
    { n: 0, bad: 0, sum: 0, prev: null },
    (a, kv) => {
      if (a.prev !== null && kv[0] < a.prev) a.bad++;
      a.prev = kv[0];
      a.n++;
      a.sum += kv[1];
      return a;
    },
    (a, b) => ({ n: a.n + b.n, bad: a.bad + b.bad, sum: a.sum + b.sum, prev: null }),
  );
  console.log(
    JSON.stringify({
      ok: true,
      n: r.n,
      bad: r.bad,
      sumOk: r.sum === (n * (n - 1)) / 2,
      s: ((performance.now() - t0) / 1000).toFixed(1),
      hot: ends
        .filter((e) => e.metrics && e.metrics.shuffleReadRecords > 0)
        .map((e) => [e.metrics.shuffleReadRecords, e.metrics.spillCount, Math.round(e.metrics.diskBytesSpilled / 2 ** 20)]),
    }),
  );
} catch (e) {
  console.log(
    JSON.stringify({
      ok: false,
      err: String(e.message).slice(0, 300),
      s: ((performance.now() - t0) / 1000).toFixed(1),
      hot: ends
        .filter((e) => e.metrics && e.metrics.shuffleReadRecords > 0)
        .map((e) => [e.metrics.shuffleReadRecords, e.metrics.spillCount, Math.round(e.metrics.diskBytesSpilled / 2 ** 20)]),
    }),
  );
} finally {
  await sc.stop();
}
