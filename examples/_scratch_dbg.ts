import { Context } from 'kindling';
import { pageRankPlan, graphInput } from './pagerank.js';
const sc = new Context({ master: 'local[2]', progress: false });
for (const partitions of [3, 2]) {
const plan = pageRankPlan(sc, await graphInput({ small: true, dataDir: '/tmp/kindling-example-tests' }), { partitioned: true, partitions });
console.log(plan.step(plan.step(plan.initialRanks)).toDebugString());
}
await sc.stop();
