import { Context } from 'kindling';
const sc = new Context({ master: 'local[2]', progress: false });
for (const depth of [500, 2000, 5000]) {
  let r = sc.parallelize([0], 1);
  for (let i = 1; i < depth; i++) r = r.union(sc.parallelize([i], 1));
  const t = Date.now();
  try { console.log(depth, r.getNumPartitions(), await r.count(), (await r.collect()).slice(-2), Date.now() - t, 'ms'); } catch (e) { console.log(depth, 'ERR', e.message.slice(0, 200), e.stack.split('\n').slice(1,3).join('|')); }
}
await sc.stop();
