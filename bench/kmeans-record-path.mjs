/**
 * k-means' map-side record path in one worker thread, without tasks: what the engine's combine adds per record over a
 * bare loop doing the same user calls. 500k points of the generated points file (features only), the example's map
 * (`[c, [p, 1, d]]` with `closestCenter`) and reduce (`slice()` and a new triple), compiled with `new Function` as a
 * worker compiles shipped functions. Variants, alternated pass by pass (CPU time of the process per pass, passes 5-24):
 * - `bare`: the user's calls into an array of 5 combiners;
 * - `pairs`: a `[k, combiner]` pair per key in an array, the combiner replaced in place (what every table does);
 * - `inttable`: the engine's IntTable (shuffle/key-table.js) in a closure of the loop;
 * - `grouping`: the engine's `grouping(first, merge).addKV` (shuffle/combine.js);
 * - `combine`: `combineExternally` with a worker pool, records given as `kv(k, v)` (what `mapArray` hands on), in each
 *   tree given: `combine:0` is the first tree's, `combine:1` the second's;
 * - `maparray`: `combine:0` with the checks of MappedRDD's map step around the user's function.
 * `ONLY=name,name` runs only those variants. Sessions 29 and 42 (docs/benchmarks.md, helper kmeans).
 * Workers get the 24 MiB young generation kindling's workers have.
 *
 *   npm run build && node bench/kmeans-record-path.mjs dist [/work/base/dist]
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData } from 'node:worker_threads';

if (isMainThread) {
  const dists = process.argv.slice(2).map((d) => pathToFileURL(path.resolve(d)).href);
  if (dists.length === 0) {
    console.log('usage: node bench/kmeans-record-path.mjs DIST [DIST]');
    process.exit(0);
  }
  new Worker(new URL(import.meta.url), { workerData: { dists }, resourceLimits: { maxYoungGenerationSizeMb: 24 } });
} else {
  const { dists } = workerData;
  const trees = await Promise.all(
    dists.map(async (d) => ({
      grouping: (await import(`${d}/shuffle/combine.js`)).grouping,
      IntTable: (await import(`${d}/shuffle/key-table.js`)).IntTable,
      combineExternally: (await import(`${d}/shuffle/external-combiner.js`)).combineExternally,
      budget: new (await import(`${d}/shuffle/memory-budget.js`)).MemoryBudget(1e9, path.join(tmpdir(), 'kindling-record-path')),
    })),
  );
  const text = readFileSync('data/points-count1000000-dims10-seed42.txt', 'latin1');
  const pts = [];
  for (let at = 0; pts.length < 500000; ) {
    const end = text.indexOf('\n', at);
    pts.push(text.slice(at, end).split(' ').map(Number).slice(1));
    at = end + 1;
  }
  const centers0 = pts.slice(0, 5).map((p) => p.slice());
  const closestSrc =
    '(p, centers) => { let best = 0; let bestDist = Infinity; for (let c = 0; c < centers.length; c++) { const center = centers[c]; let d = 0; for (let j = 0; j < p.length; j++) { const diff = p[j] - center[j]; d += diff * diff; } if (d < bestDist) { bestDist = d; best = c; } } return [best, bestDist]; }';
  // A new compile of the user's functions per pass, as each stage's are in a worker.
  const make = () => {
    const closestCenter = new Function(`return ${closestSrc}`)();
    const centers = centers0.map((c) => c.slice());
    const f = new Function('closestCenter', 'centers', 'return (p) => { const [c, d] = closestCenter(p, centers); return [c, [p, 1, d]]; }')(
      closestCenter,
      centers,
    );
    const r = new Function(
      'return ([s1, n1, d1], [s2, n2, d2]) => { const s = s1.slice(); for (let j = 0; j < s.length; j++) s[j] += s2[j]; return [s, n1 + n2, d1 + d2]; }',
    )();
    return { f, r };
  };
  const identity = (v) => v;
  const { grouping, IntTable } = trees[0];
  const variants = {
    bare: ({ f, r }) => {
      const gs = [undefined, undefined, undefined, undefined, undefined];
      for (let i = 0; i < pts.length; i++) {
        const y = f(pts[i]);
        const g = gs[y[0]];
        gs[y[0]] = g === undefined ? y[1] : r(g, y[1]);
      }
      return gs;
    },
    pairs: ({ f, r }) => {
      const gs = [];
      const kv = (k, v) => {
        const g = gs[k];
        if (g === undefined) gs[k] = [k, v];
        else g[1] = r(g[1], v);
      };
      for (let i = 0; i < pts.length; i++) {
        const y = f(pts[i]);
        kv(y[0], y[1]);
      }
      return gs;
    },
    inttable: ({ f, r }) => {
      const t = new IntTable();
      const kv = (k, v) => {
        const g = t.get(k);
        if (g === undefined) t.addAfterMiss([k, v], k);
        else g[1] = r(g[1], v);
      };
      for (let i = 0; i < pts.length; i++) {
        const y = f(pts[i]);
        kv(y[0], y[1]);
      }
      return t.groups();
    },
    grouping: ({ f, r }) => {
      const g = grouping(identity, r);
      const kv = g.addKV;
      for (let i = 0; i < pts.length; i++) {
        const y = f(pts[i]);
        kv(y[0], y[1]);
      }
      return g.groups();
    },
    // What MappedRDD's map step adds around the user's function (try, the Promise test, the pair test), into the
    // first tree's combine.
    maparray: ({ f, r }) => {
      const out = [];
      const source = (_each, _numbers, _pairs, kv) => {
        for (let i = 0; i < pts.length; i++) {
          let y;
          // As the map step's own try around the user's function (which wraps what it throws), whose cost is measured here.
          try {
            y = f(pts[i]);
          } catch (e) {
            throw new Error('the map function failed', { cause: e });
          }
          if (y instanceof Promise) throw new Error('a Promise');
          if (Array.isArray(y) && y.length === 2) kv(y[0], y[1]);
          else throw new Error('not a pair');
        }
      };
      trees[0].combineExternally(source, { first: identity, merge: r, mergeCombiners: r }, 1, 'k-means', (g) => out.push(g), trees[0].budget);
      return out;
    },
  };
  trees.forEach((t, n) => {
    variants[`combine:${n}`] = ({ f, r }) => {
      const out = [];
      const source = (_each, _numbers, _pairs, kv) => {
        for (let i = 0; i < pts.length; i++) {
          const y = f(pts[i]);
          kv(y[0], y[1]);
        }
      };
      t.combineExternally(source, { first: identity, merge: r, mergeCombiners: r }, 1, 'k-means', (g) => out.push(g), t.budget);
      return out;
    };
  });
  // ONLY=bare,combine:0,combine:1 runs those variants alone (fewer variants, more passes of each a second).
  const names = Object.keys(variants).filter((n) => process.env.ONLY === undefined || process.env.ONLY.split(',').includes(n));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (let pass = 0; pass < 24; pass++) {
    for (const n of pass % 2 === 1 ? names : [...names].reverse()) {
      const fns = make();
      const t0 = process.cpuUsage();
      variants[n](fns);
      const u = process.cpuUsage(t0);
      if (pass >= 4) cpu[n].push((u.user + u.system) / 1000);
    }
  }
  for (const n of names) {
    const s = cpu[n].sort((a, b) => a - b);
    console.log(`${n.padEnd(10)} CPU ms per pass: min ${s[0].toFixed(1)}, quartile ${s[5].toFixed(1)}, median ${s[10].toFixed(1)}`);
  }
}
