import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { capture, compileFunction, importModuleFrom, ModuleRef, shipFunction, useModule, type ShippedFunction } from '../../src/closure/index.js';
import { ModuleImportError } from '../../src/core/errors.js';
import { fakeRuntime, roundTrip } from './helpers.js';

// Local bindings rather than static imports: Vite rewrites statically imported names inside
// function bodies, which is exactly what capture() users are told to avoid.
const zlib = await import('node:zlib');
const acorn = await import('acorn');

describe('useModule', () => {
  test('records the specifier and the driver cwd in the wire form', () => {
    const ref = useModule('node:zlib');
    expect(ref).toBeInstanceOf(ModuleRef);
    const wire = shipFunction(
      capture({ zlib: ref }, (s: string) => zlib.gzipSync(s)),
      'map',
    );
    expect(wire.env).toEqual({ zlib: { t: 'module', specifier: 'node:zlib', cwd: process.cwd() } });
  });

  test('relative paths are pinned to file URLs against the cwd', () => {
    expect(useModule('./lib/x.js').specifier).toBe(pathToFileURL(path.resolve('lib/x.js')).href);
    expect(() => useModule('')).toThrow(TypeError);
  });

  test('a node: builtin is bound to its namespace in the worker', async () => {
    const runtime = fakeRuntime();
    const fn = capture({ zlib: useModule('node:zlib') }, (s: string) => zlib.gunzipSync(zlib.gzipSync(s)).toString());
    const { compiled } = await roundTrip(fn, runtime);
    expect(compiled('hello')).toBe('hello');
    expect(runtime.imports).toEqual(['node:zlib']);
  });

  test('an installed package (acorn)', async () => {
    const fn = capture({ acorn: useModule('acorn') }, (src: string) => acorn.parse(src, { ecmaVersion: 'latest' }).body.length);
    const { compiled } = await roundTrip(fn);
    expect(compiled('a; b; c')).toBe(3);
  });

  test('helpers can declare modules of their own', async () => {
    const crc = capture({ zlib: useModule('node:zlib') }, (s: string) => zlib.deflateSync(s).length);
    const { compiled } = await roundTrip(capture({ crc }, (s: string) => crc(s) > 0));
    expect(compiled('abc')).toBe(true);
  });
});

describe('resolving packages from the driver cwd', () => {
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kindling-closure-'));
    const pkg = (name: string, manifest: object, files: Record<string, string>) => {
      const root = path.join(dir, 'node_modules', name);
      mkdirSync(root, { recursive: true });
      writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name, ...manifest }));
      for (const [file, text] of Object.entries(files)) writeFileSync(path.join(root, file), text);
    };
    pkg('kc-cjs-default', { main: 'index.js' }, { 'index.js': 'module.exports = (s) => `<${s}>`;' });
    pkg(
      'kc-esm-only',
      { type: 'module', exports: { '.': { import: './main.js' }, './extra': { import: './extra.js' } } },
      { 'main.js': 'export const shout = (s) => s.toUpperCase();', 'extra.js': 'export const n = 42;' },
    );
    mkdirSync(path.join(dir, 'app', 'sub'), { recursive: true });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const wireUsing = (name: string, specifier: string, cwd: string, src: string): ShippedFunction => ({
    src,
    name: '',
    env: { [name]: { t: 'module', specifier, cwd } },
  });

  test('a CommonJS package whose namespace has only default is bound to default', async () => {
    const wire = wireUsing('wrap', 'kc-cjs-default', path.join(dir, 'app', 'sub'), '(s) => wrap(s)');
    const f = (await compileFunction(wire, fakeRuntime())) as (s: string) => string;
    expect(f('x')).toBe('<x>');
  });

  test('an ESM-only package (import condition only), including a subpath', async () => {
    const wire = wireUsing('m', 'kc-esm-only', dir, '(s) => m.shout(s)');
    const f = (await compileFunction(wire, fakeRuntime())) as (s: string) => string;
    expect(f('hi')).toBe('HI');
    const extra = (await importModuleFrom('kc-esm-only/extra', dir)) as { n: number };
    expect(extra.n).toBe(42);
  });

  test("a missing file names its path and says relative paths are resolved from the driver's working directory", async () => {
    const { specifier } = useModule('./kc-no-such-helper.mjs');
    const missing = path.resolve('kc-no-such-helper.mjs');
    const failure = importModuleFrom(specifier, process.cwd());
    await expect(failure).rejects.toThrow(ModuleImportError);
    await expect(failure).rejects.toThrow(
      `cannot import module ${missing} (declared with useModule; a relative path is resolved from the driver's working directory, ${process.cwd()}, not from the script's folder)`,
    );
  });

  test('a missing package reports the original failure', async () => {
    await expect(importModuleFrom('kc-does-not-exist', dir)).rejects.toThrow(/kc-does-not-exist/);
  });
});
