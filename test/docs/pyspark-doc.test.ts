/**
 * docs/pyspark.md stays true: every kindling name in its tables exists, every name marked missing does not,
 * and every public method of RDD and Context appears on the page.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Context, RDD } from 'kindling';

const doc = readFileSync(new URL('../../docs/pyspark.md', import.meta.url), 'utf8');
const declarations = readFileSync(new URL('../../dist/index.d.ts', import.meta.url), 'utf8');

interface Row {
  readonly pyspark: string;
  readonly kindling: string;
  readonly status: string;
}

/** The rows of the tables whose header starts `| PySpark | kindling | status |`. */
function mappingRows(): Row[] {
  const rows: Row[] = [];
  let inTable = false;
  for (const line of doc.split('\n')) {
    if (line.startsWith('| PySpark | kindling | status |')) {
      inTable = true;
      continue;
    }
    if (!line.startsWith('|')) {
      inTable = false;
      continue;
    }
    if (!inTable || line.startsWith('|---')) continue;
    const [pyspark, kindling, status] = line
      .split('|')
      .slice(1, 4)
      .map((c) => c.trim());
    rows.push({ pyspark: pyspark!, kindling: kindling!, status: status! });
  }
  return rows;
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

/** Members that are engine hooks (used by the scheduler and workers), not API a user calls. */
const RDD_INTERNAL = new Set([
  'elementwise',
  'cachedPartition',
  'forEach',
  'forEachOrColumns',
  'inheritPartitionCount',
  'inheritedNumPartitions',
  'iterator',
  'markCheckpointed',
  'nextCacheGeneration',
  'pushCompute',
  'pushComputeOrColumns',
  'resetDependencies',
  'restoreStorageLevel',
  'toWire',
  'wireBody',
  'wireParents',
  'shuffleDependencies',
  'partitionPayload',
  'cheapToRecompute',
]);
const CONTEXT_INTERNAL = new Set(['newRddId', 'newShuffleId', 'persistRdd', 'unpersistRdd', 'ship', 'checkpointDir']);

describe('docs/pyspark.md', () => {
  let sc: Context;
  let rdd: RDD<number>;
  beforeAll(() => {
    sc = new Context({ master: 'local', progress: false });
    rdd = sc.parallelize([1]);
  });
  afterAll(async () => {
    await sc.stop();
  });

  test('has mapping rows with a known status', () => {
    const rows = mappingRows();
    expect(rows.length).toBeGreaterThan(120);
    for (const r of rows) expect(['present', 'different', 'missing']).toContain(r.status);
    // The rows marked missing are read too (else the check below them would pass on nothing); fewer as they are built.
    const missing = rows.filter((r) => r.status === 'missing').map((r) => r.pyspark);
    expect(missing.length).toBeGreaterThan(5);
    expect(missing).toEqual(expect.arrayContaining(['`sequenceFile`', '`barrier`', '`addFile` / `addPyFile`']));
  });

  test('every kindling name in the tables exists', () => {
    const targets: Record<string, object> = { rdd, sc, bc: sc.broadcast(1), acc: sc.accumulator(0) };
    const names = [
      ...mappingRows()
        .filter((r) => r.status !== 'missing')
        .flatMap((r) => backticked(r.kindling)),
    ];
    const adds = doc.slice(doc.indexOf('## What kindling adds'));
    names.push(
      ...adds
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => backticked(l.split('|')[1]!)[0]!),
    );
    expect(names.length).toBeGreaterThan(100);
    for (const name of names) {
      const m = /^(rdd|sc|bc|acc)\.(\w+)$/.exec(name);
      if (m) {
        expect(m[2]! in targets[m[1]!]!, `${name} is in docs/pyspark.md but does not exist`).toBe(true);
        continue;
      }
      const bare = /^(?:new )?(\w+)/.exec(name)![1]!;
      expect(declarations, `${name} is in docs/pyspark.md but '${bare}' is not exported`).toMatch(new RegExp(`\\b${bare}\\b`));
    }
  });

  test('every name marked missing is indeed missing', () => {
    for (const r of mappingRows().filter((row) => row.status === 'missing')) {
      expect(r.kindling).toBe('—');
      for (const name of backticked(r.pyspark).flatMap((n) => n.split(/\s*\/\s*/))) {
        expect(name in rdd || name in sc, `${name} is marked missing in docs/pyspark.md but exists`).toBe(false);
      }
    }
  });

  test('every public RDD and Context method is on the page', () => {
    const documented = new Set([...doc.matchAll(/`(rdd|sc)\.(\w+)`/g)].map((m) => `${m[1]}.${m[2]}`));
    const rddNames = Object.getOwnPropertyNames(RDD.prototype).filter((n) => n !== 'constructor' && !RDD_INTERNAL.has(n));
    for (const n of [...rddNames, 'id', 'context', 'partitioner', 'getNumPartitions']) {
      expect(documented.has(`rdd.${n}`), `rdd.${n} is public but not in docs/pyspark.md`).toBe(true);
    }
    const ctxNames = Object.getOwnPropertyNames(Context.prototype).filter((n) => n !== 'constructor' && !CONTEXT_INTERNAL.has(n));
    for (const n of [...ctxNames, 'options', 'events', 'faults']) {
      expect(documented.has(`sc.${n}`), `sc.${n} is public but not in docs/pyspark.md`).toBe(true);
    }
  });
});
