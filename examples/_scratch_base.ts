import { logisticRegressionBaseline } from '../bench/baselines/logistic-regression.js';
import { pageRankBaseline } from '../bench/baselines/pagerank.js';
import { printTimings } from './common.js';
const t0 = performance.now();
const lr = logisticRegressionBaseline('data/points-count1000000-dims10-seed42.txt', {});
console.log('LR baseline total', performance.now() - t0); printTimings(lr.timings);
const t1 = performance.now();
const pr = pageRankBaseline('data/graph-nodes100000-edges1000000-seed42.txt', 10);
console.log('PR baseline total', performance.now() - t1); printTimings(pr.timings);
