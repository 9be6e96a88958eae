/**
 * runWithCodeCache runs a CommonJS file compiled with V8's code cache of it, kept beside it: written by the first run,
 * taken by the next; a damaged cache (a release V8 would crash on it) or one of another text is ignored and replaced.
 * The workers' bundle and the driver's both run through it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

// The built file (a CommonJS module of src/, as the workers and the driver's entry load it): vitest does not compile `.cts`.
const { runWithCodeCache, wordDigest } = createRequire(import.meta.url)(
  '../../dist/util/code-cache.cjs',
) as typeof import('../../src/util/code-cache.cjs');

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-code-cache-'));
  file = path.join(dir, 'bundle.cjs');
  // Enough functions for a cache of some size; module.exports as a CommonJS file sets it.
  const fns = Array.from({ length: 200 }, (_, i) => `function f${i}(x) { return x * ${i} + ${i % 7}; }`).join('\n');
  writeFileSync(
    file,
    `${fns}\nmodule.exports = { sum: (n) => { let s = 0; for (let i = 0; i < 200; i++) s += eval('f' + i)(n); return s; }, dir: __dirname };\n`,
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const caches = () => readdirSync(dir).filter((f) => f.endsWith('.cache'));
const run = () => {
  const { exports, use } = runWithCodeCache(file, 'flags-of-this-spec', wordDigest);
  const { sum, dir: at } = exports as { sum: (n: number) => number; dir: string };
  return { use, sum: sum(1), at };
};
const expected = Array.from({ length: 200 }, (_, i) => i + (i % 7)).reduce((a, b) => a + b, 0);

describe('runWithCodeCache', () => {
  it('runs the file as CommonJS, writes its cache beside it, and has V8 take it on the next run', () => {
    expect(run()).toEqual({ use: 'written', sum: expected, at: dir });
    expect(caches()).toHaveLength(1);
    expect(caches()[0]).toMatch(/^bundle\.cjs\.\d+-\d+-[0-9a-f]{8}\.cache$/);
    expect(run()).toEqual({ use: 'accepted', sum: expected, at: dir });
  });

  it('ignores a cache whose bytes were damaged (V8 would crash on it), and writes a good one', () => {
    run();
    const cache = path.join(dir, caches()[0]!);
    const bytes = readFileSync(cache);
    for (let i = bytes.indexOf(10) + 65; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(cache, bytes);
    expect(run()).toEqual({ use: 'written', sum: expected, at: dir });
    expect(run().use).toBe('accepted');
  });

  it('ignores a cache without its digest line, or cut short', () => {
    run();
    const cache = path.join(dir, caches()[0]!);
    const bytes = readFileSync(cache);
    writeFileSync(cache, bytes.subarray(bytes.indexOf(10) + 1));
    expect(run()).toEqual({ use: 'written', sum: expected, at: dir });
    writeFileSync(cache, readFileSync(cache).subarray(0, 1000));
    expect(run()).toEqual({ use: 'written', sum: expected, at: dir });
  });

  it('digests 32-bit words and the odd bytes after them, wherever the bytes sit', () => {
    const data = Buffer.from(Array.from({ length: 4099 }, (_, i) => (i * 31) & 0xff));
    const copy = Buffer.alloc(4101).subarray(1, 4100);
    data.copy(copy);
    // Unaligned, the bytes are read one by one: another digest, but as stable, and any changed byte shows.
    expect(wordDigest(data)).toBe(wordDigest(Buffer.from(data)));
    expect(wordDigest(copy)).toBe(wordDigest(copy));
    const changed = Buffer.from(data);
    changed[4098] = changed[4098]! ^ 1;
    expect(wordDigest(changed)).not.toBe(wordDigest(data));
  });
});
