/**
 * What a script pays before its first line runs: `import 'kindling'` (package.json `exports`, src/entry.ts) runs the
 * driver bundle that `npm run build` writes (dist/driver/kindling.cjs, through src/entry-bundle.ts), and nothing it
 * holds a second time; a bare `tsc` after a build leaves that bundle unused rather than running code older than the
 * modules.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Runs `body` (an ES module's code) in a fresh `node` with `cwd` as its folder, after it imported `kindling`, and
 * returns what it printed and every file the process loaded: modules through the ESM loader (a loader hook) and
 * CommonJS files (`require.cache`), as paths relative to `cwd` (a chunk's content hash dropped: `driver/live-ui.js`).
 */
function loadedBy(cwd: string, body = ''): { files: string[]; out: string } {
  // A loader hook runs on a thread of its own: it reports each URL through a port.
  const hook = `let port;
    export function initialize(data) { port = data.port; }
    export async function load(url, context, next) {
      if (url.startsWith('file:')) port.postMessage(url);
      return next(url, context);
    }`;
  const script = `
    import { register, createRequire } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    import { pathToFileURL, fileURLToPath } from 'node:url';
    const urls = new Set();
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (u) => urls.add(u));
    port1.unref();
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}), { parentURL: pathToFileURL('./'), data: { port: port2 }, transferList: [port2] });
    const kindling = await import('kindling');
    ${body}
    await new Promise((r) => setTimeout(r, 100));
    const files = [...urls].map((u) => fileURLToPath(u));
    for (const f of Object.keys(createRequire(import.meta.url).cache)) files.push(f);
    console.log('FILES ' + JSON.stringify(files));
  `;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`exit ${res.status}: ${res.stderr}`);
  const line = res.stdout.split('\n').find((l) => l.startsWith('FILES '))!;
  const files = (JSON.parse(line.slice('FILES '.length)) as string[]).map((f) =>
    path
      .relative(cwd, f)
      .split(path.sep)
      .join('/')
      .replace(/-[A-Z0-9]{8}\.js$/, '.js'),
  );
  return { files: [...new Set(files)].sort(), out: res.stdout };
}

describe('import "kindling"', () => {
  it('after npm run build, runs the driver bundle only: no module of dist/ outside it, no package file, no UI, streaming, map-reduce, cluster or Redis module', () => {
    // The bundle is no module Node loads: src/entry-bundle.ts reads and runs it (it says what it did with its code cache).
    const { files, out } = loadedBy(root, "console.log('CACHE ' + globalThis[Symbol.for('kindling.driverCodeCache')]);");
    expect(out).toMatch(/^CACHE (written|accepted|rejected|none)$/m);
    expect(files).toContain('dist/entry.js');
    expect(files).toContain('dist/entry-bundle.js');
    // A module of dist/ loaded beside the bundle would be a second copy of its classes; acorn, eslint-scope,
    // comlink and lru-cache are inside it; ioredis loads on first use.
    // (package.json is read for the version.)
    const code = files.filter((f) => !f.endsWith('.json'));
    expect(code.filter((f) => !['dist/entry.js', 'dist/entry-bundle.js', 'dist/util/code-cache.cjs'].includes(f))).toEqual([]);
    expect(code.filter((f) => /streaming|mapreduce|cluster|redis|\/ui\/|live-ui|event-log|node_modules/.test(f))).toEqual([]);
  });

  it('makes its import() calls through the function src/entry-bundle.ts lends it (code V8 took from a code cache cannot make one)', () => {
    const text = readFileSync(path.join(root, 'dist/driver/kindling.cjs'), 'utf8');
    // The banner's own fallback, for the bundle run as a plain file, is the one call left.
    const body = text.slice(text.indexOf('\n', text.indexOf('__kindlingImport =')));
    expect(body.match(/(?<![\w$.])import\(\s*[\w$"'`(]/g) ?? []).toEqual([]);
    expect(body).toContain('__kindlingImport("ioredis")');
  });

  it("keeps the names of kindling's own captured functions: a capture env entry esbuild renamed is named as the function's text names it", () => {
    // esbuild renames a module's symbol another module's top-level symbol names (`compare` -> `compare2`) and writes
    // the env's shorthand `{ compare }` as `{ compare: compare2 }`; scripts/bundle.js writes `{ compare2 }` again.
    const renamed = /\bcapture\d*\(\{[^{}]*?(?<![\w$])([\w$]+):\s*\1\d+(?![\w$])/g;
    const driver = path.join(root, 'dist/driver');
    const left = readdirSync(driver)
      .filter((f) => f.endsWith('.cjs'))
      .flatMap((f) => readFileSync(path.join(driver, f), 'utf8').match(renamed) ?? []);
    expect(left).toEqual([]);
    // Which is right only while kindling's sources never write such an entry themselves.
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
      );
    expect(sources(path.join(root, 'src')).flatMap((f) => readFileSync(f, 'utf8').match(renamed) ?? [])).toEqual([]);
    // (The pattern finds what esbuild writes.)
    expect('capture({ bounds, compare: compare2, ascending }, (k) => 0)'.match(renamed)).toHaveLength(1);
  });

  it("maps the bundle's stack frames to src/ with source maps on, from maps that carry no sources' text (Node parses a loaded file's whole map then)", () => {
    const maps = [
      ...readdirSync(path.join(root, 'dist/driver'))
        .filter((f) => f.endsWith('.map'))
        .map((f) => path.join(root, 'dist/driver', f)),
      path.join(root, 'dist/exec/local/worker-bundle.cjs.map'),
    ];
    expect(maps.length).toBeGreaterThan(1);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
      expect(map.sourcesContent, file).toBeUndefined();
      expect(
        map.sources.some((s) => s.replaceAll('\\', '/').includes('/src/')),
        file,
      ).toBe(true);
    }
    // An error made inside the bundle: its stack names the TypeScript source, as it did with the sources' text.
    const run = spawnSync(
      process.execPath,
      [
        '--enable-source-maps',
        '--input-type=module',
        '-e',
        "const k = await import('kindling'); try { new k.Context({ master: 'nowhere[3]' }); } catch (e) { console.log(e.stack); }",
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(run.stdout).toMatch(/src\/[\w/-]+\.ts:\d+/);
    expect(run.stdout).not.toContain('dist/driver/kindling.cjs');
  });

  it('gives kindling/datagen the same classes: an error datagen throws is the exported KindlingError', () => {
    const { out } = loadedBy(
      root,
      `const datagen = await import('kindling/datagen');
       try { await datagen.ensureDataset('no-such-dataset'); console.log('NO ERROR'); }
       catch (e) { console.log('SAME ' + (e instanceof kindling.KindlingError) + ' ' + (e instanceof kindling.InvalidArgumentError)); }`,
    );
    expect(out).toContain('SAME true true');
  });

  it('after a bare tsc over a built tree, loads the modules tsc wrote, not the older bundle', () => {
    const tree = mkdtempSync(path.join(os.tmpdir(), 'kindling-entry-'));
    try {
      cpSync(path.join(root, 'dist'), path.join(tree, 'dist'), { recursive: true });
      cpSync(path.join(root, 'package.json'), path.join(tree, 'package.json'));
      symlinkSync(path.join(root, 'node_modules'), path.join(tree, 'node_modules'), 'dir');
      // The copy of a built tree uses its bundle (so the check below can fail)...
      expect(loadedBy(tree).files).toContain('dist/entry-bundle.js');
      const tsc = spawnSync(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json'), '--outDir', path.join(tree, 'dist')],
        {
          encoding: 'utf8',
        },
      );
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      expect(readFileSync(path.join(tree, 'dist/entry.js'), 'utf8')).toContain("export * from './index.js';");
      // ...and, once tsc rewrote the modules, no file of the bundle: the modules themselves.
      const { files } = loadedBy(tree);
      expect(files).toContain('dist/index.js');
      expect(files).toContain('dist/context/context.js');
      expect(files.filter((f) => f.startsWith('dist/driver/') || f === 'dist/entry-bundle.js')).toEqual([]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  }, 120_000);
});
