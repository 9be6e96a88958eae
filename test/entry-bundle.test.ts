/**
 * `import 'kindling'` after `npm run build` runs the driver bundle (dist/driver/kindling.cjs) compiled with V8's code
 * cache of it (src/entry-bundle.ts, src/util/code-cache.cts): the first process writes the cache beside the bundle,
 * later ones have V8 take it; a cache V8 refuses (corrupt, or made from another text) is ignored and replaced; stack
 * traces keep naming src/ with source maps on (tsx turns them on) and the user's file in a job's error.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// A copy of the built package: its bundle's caches are this file's alone (another spec's processes may write root's).
let tree: string;
let driver: string;
beforeAll(() => {
  tree = mkdtempSync(path.join(os.tmpdir(), 'kindling-entry-bundle-'));
  cpSync(path.join(root, 'dist'), path.join(tree, 'node_modules/kindling/dist'), {
    recursive: true,
    filter: (f) => !f.endsWith('.cache'),
  });
  cpSync(path.join(root, 'package.json'), path.join(tree, 'node_modules/kindling/package.json'));
  for (const dep of readdirSync(path.join(root, 'node_modules'))) {
    if (dep !== 'kindling' && !dep.startsWith('.')) symlinkSync(path.join(root, 'node_modules', dep), path.join(tree, 'node_modules', dep));
  }
  driver = path.join(tree, 'node_modules/kindling/dist/driver');
}, 60_000);
afterAll(() => rmSync(tree, { recursive: true, force: true }));

/** Runs `script` (an ES module) in a fresh `node` in the copy, with `flags`; returns what it printed. */
function run(script: string, flags: string[] = []): string {
  const file = path.join(tree, 'script.mjs');
  writeFileSync(file, script);
  const res = spawnSync(process.execPath, [...flags, file], { cwd: tree, encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`exit ${res.status}: ${res.stdout}${res.stderr}`);
  return res.stdout;
}

/** What importing kindling did with the code cache, and a tiny job's answer (the bundle works either way). */
const useAndJob = () =>
  run(`import { Context } from 'kindling';
    const use = globalThis[Symbol.for('kindling.driverCodeCache')];
    const sc = new Context({ master: 'local[1]', progress: false, ui: false });
    console.log(use + ' ' + (await sc.parallelize([1, 2, 3]).count()));
    await sc.stop();`).trim();

const caches = () => readdirSync(driver).filter((f) => /^kindling\.cjs\.\d+-\d+-[0-9a-f]{8}\.cache$/.test(f));

describe('the driver bundle', () => {
  it('is compiled with its code cache: the first process writes it beside the bundle, the next has V8 accept it', () => {
    expect(caches()).toEqual([]);
    expect(useAndJob()).toBe('written 3');
    expect(caches()).toHaveLength(1);
    expect(useAndJob()).toBe('accepted 3');
    expect(useAndJob()).toBe('accepted 3');
  }, 120_000);

  it('ignores a corrupt cache (V8 refuses it), runs as well, and replaces it', () => {
    useAndJob();
    const [cache] = caches();
    const bytes = readFileSync(path.join(driver, cache!));
    // Past V8's header: a flipped payload fails its checksum.
    for (let i = 64; i < bytes.length; i += 97) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(path.join(driver, cache!), bytes);
    expect(useAndJob()).toBe('written 3');
    expect(useAndJob()).toBe('accepted 3');
  }, 120_000);

  it('ignores a stale cache, made from another text of the bundle, under the current name', () => {
    useAndJob();
    const [cache] = caches();
    // A cache V8 made of another script, in a process with the same flags: V8's check (the source's length) tells.
    const made = spawnSync(
      process.execPath,
      ['-e', "process.stdout.write(new (require('node:vm').Script)('(function () { return 1; })').createCachedData().toString('base64'))"],
      { encoding: 'utf8' },
    );
    const stale = Buffer.from(made.stdout, 'base64');
    expect(stale.length).toBeGreaterThan(0);
    // With a digest line that matches it (as the driver writes one): V8 itself must refuse it.
    const digest = createHash('sha1').update(stale).digest('hex');
    writeFileSync(path.join(driver, cache!), Buffer.concat([Buffer.from(`${digest.padEnd(digest.length + 7 - (digest.length % 8))}\n`), stale]));
    expect(useAndJob()).toBe('written 3');
    expect(useAndJob()).toBe('accepted 3');
  }, 120_000);

  it("keeps stack traces: with source maps on (plain and under tsx) they name src/, and a job's error names the user's file and line", () => {
    const script = `import { Context } from 'kindling';
      const sc = new Context({ master: 'local[1]', progress: false, ui: false });
      try { sc.parallelize([1]).map(null); } catch (e) { console.log(e.stack); }
      try { await sc.parallelize([1]).map((x) => { throw new Error('boom ' + x); }).collect(); } catch (e) { console.log(e.message); }
      console.log('CACHE ' + globalThis[Symbol.for('kindling.driverCodeCache')]);
      await sc.stop();`;
    for (const flags of [['--enable-source-maps'], ['--import', 'tsx']]) {
      // Twice: the second run has its code from the cache.
      for (const pass of [1, 2]) {
        const out = run(script, flags);
        expect(out, `${flags} ${pass}`).toMatch(/at Context\.ship \(.*src\/context\/context\.ts:\d+:\d+\)/);
        expect(out).not.toContain('kindling.cjs');
        expect(out).toContain('map at script.mjs:3');
        expect(out).toMatch(/\(collect at RDD \d+ \(map at script\.mjs:4\)\)/);
        expect(out).toContain('Error: boom 1');
        if (pass === 2) expect(out).toContain('CACHE accepted');
      }
    }
  }, 180_000);
});
