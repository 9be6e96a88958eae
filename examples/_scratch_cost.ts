import { Context } from 'kindling';
import { printTimings, type Timing } from './common.js';
import * as pr from './pagerank.js';
import * as lr from './logistic-regression.js';
import { pageRankBaseline } from '../bench/baselines/pagerank.js';
import { logisticRegressionBaseline } from '../bench/baselines/logistic-regression.js';
const which = process.argv[2]!;
const total = (ts: readonly Timing[]) => ts.reduce((s, t) => s + t.ms, 0);
const sc = new Context({ master: process.env.M ?? 'local[2]', engine: 'memory', progress: false });
if (which.startsWith('pr')) {
  const path = await pr.graphInput({});
  let t = performance.now();
  const k = await pr.run(sc, { input: path, iterations: 10, partitioned: which === 'prp' });
  const kw = performance.now() - t;
  t = performance.now();
  const b = pageRankBaseline(path, 10);
  const bw = performance.now() - t;
  console.log('kindling wall', kw.toFixed(0), 'baseline wall', bw.toFixed(0), 'diff', pr.compareRanks(k.summary.ranks, b.summary.ranks));
  printTimings(k.timings); printTimings(b.timings);
} else {
  const path = await lr.pointsInput({});
  let t = performance.now();
  const k = await lr.run(sc, { input: path, iterations: 10 });
  const kw = performance.now() - t;
  t = performance.now();
  const b = logisticRegressionBaseline(path, { iterations: 10 });
  const bw = performance.now() - t;
  console.log('kindling wall', kw.toFixed(0), 'baseline wall', bw.toFixed(0));
  printTimings(k.timings); printTimings(b.timings);
}
await sc.stop();
