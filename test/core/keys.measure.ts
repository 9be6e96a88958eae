/**
 * Hand-run micro-measurement of the key hot paths (not part of the test suite):
 *   npx tsx test/core/keys.measure.ts
 * Prints ns per call for hashKey / keyId / HashPartitioner.getPartition / KeyMap.combine on 1M strings
 * and 1M integers. Numbers are rough: the machine is shared, so compare runs, not absolute values.
 */

import { hashKey, keyId, compareKeys } from '../../src/core/keys.js';
import { KeyMap } from '../../src/core/key-map.js';
import { HashPartitioner } from '../../src/core/partitioner.js';

const N = 1_000_000;
// 50k distinct ~10-character words, flattened by a JSON round trip as records arriving from another
// worker would be (V8 reads characters of concatenation-built strings noticeably slower).
const built: string[] = [];
for (let i = 0; i < N; i++) built.push(`word-${(i * 7919) % 50_000}`);
const strings: string[] = JSON.parse(JSON.stringify(built)) as string[];
const ints: number[] = [];
for (let i = 0; i < N; i++) ints.push((i * 7919) % 100_000);

// Folding results into a sink keeps the JIT from dropping the calls as dead code.
let sink = 0; // kept int32: a growing double would allocate on every update and swamp the timings

function measure(label: string, run: () => void): void {
  run(); // warm-up so the optimizing tier is measured
  const rounds = 5;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    run();
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns);
  }
  console.log(`${label.padEnd(36)} ${(best / N).toFixed(1).padStart(6)} ns/op (best of ${rounds})`);
}

measure('hashKey(string)', () => {
  for (let i = 0; i < N; i++) sink ^= hashKey(strings[i]);
});
measure('hashKey(int)', () => {
  for (let i = 0; i < N; i++) sink ^= hashKey(ints[i]);
});
measure('keyId(string)', () => {
  for (let i = 0; i < N; i++) if (keyId(strings[i]) === '') sink++;
});
measure('keyId(int)', () => {
  for (let i = 0; i < N; i++) if (keyId(ints[i]) === -1) sink++;
});
measure('compareKeys(string, string)', () => {
  for (let i = 1; i < N; i++) sink = (sink + compareKeys(strings[i - 1], strings[i])) | 0;
});
const hp = new HashPartitioner(8);
measure('HashPartitioner(8).getPartition(str)', () => {
  for (let i = 0; i < N; i++) sink = (sink + hp.getPartition(strings[i])) | 0;
});
const create = (v: number): number => v;
const merge = (c: number, v: number): number => c + v;
measure('KeyMap.combine(string) 50k groups', () => {
  const m = new KeyMap<string, number>();
  for (let i = 0; i < N; i++) m.combine(strings[i]!, 1, create, merge);
  sink = (sink + m.size) | 0;
});
measure('Map get+set(string) 50k groups', () => {
  const m = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const k = strings[i]!;
    const c = m.get(k);
    m.set(k, c === undefined ? 1 : c + 1);
  }
  sink = (sink + m.size) | 0;
});
const tuples = strings.map((s, i): [string, number] => [s, i % 10]);
measure('hashKey([string, int]) (composite)', () => {
  for (let i = 0; i < N; i++) sink ^= hashKey(tuples[i]);
});
measure('keyId([string, int]) (composite)', () => {
  for (let i = 0; i < N; i++) if (keyId(tuples[i]) === '') sink++;
});
console.log(`(sink ${sink})`);
