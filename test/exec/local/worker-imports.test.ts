/**
 * A worker thread's start-up is mostly module loading, paid by every script before its first task. The driver's
 * function analysis (acorn, eslint-scope) and file listing (tinyglobby) were more than half of it (measured: the
 * worker's module graph 91-140 ms of CPU with them, 63-69 ms without), and a worker never analyses a function or
 * lists a path. This walks the static imports of the worker's entry, as Node loads them, and fails when one of those
 * packages comes back into the graph.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../../../src');
const DRIVER_ONLY = ['acorn', 'eslint-scope', 'tinyglobby', 'ioredis'];
/**
 * Node's own modules that a worker needs only to save output (crypto, os) or to read and write gzip (zlib): loading
 * them at every start cost 4-6 ms of a worker's start (session 10); they are taken with process.getBuiltinModule
 * when a save or a .gz file first needs them.
 */
const LATE_BUILTINS = ['node:crypto', 'node:zlib', 'node:os'];

/** Every module a file loads when imported: value imports and re-exports, not `import type` (erased). */
function staticImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'([^']+)'/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[2] !== undefined) continue;
    // `import { type A, type B } from` loads nothing either.
    const names = m[3]!
      .replace(/^\{|\}$/g, '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (m[3]!.startsWith('{') && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    out.push(m[4]!);
  }
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push(m[1]!);
  return out;
}

function workerGraph(): { files: Set<string>; packages: Map<string, string>; builtins: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>(); // package -> a file importing it
  const builtins = new Map<string, string>(); // node:module -> a file importing it
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (spec.startsWith('node:')) builtins.set(spec, path.relative(src, file));
      else packages.set(spec.split('/')[0]!, path.relative(src, file));
    }
  };
  visit(path.join(src, 'exec/local/worker-main.ts'));
  return { files, packages, builtins };
}

describe('worker start-up', () => {
  it('loads none of the driver-only packages (function analysis, file listing, Redis)', () => {
    const { files, packages } = workerGraph();
    // The walk really follows the graph: the executor, the RDD classes and the shuffle are in it.
    for (const f of ['exec/executor.ts', 'rdd/rdd.ts', 'shuffle/combine.ts', 'io/input-files.ts']) expect(files).toContain(path.join(src, f));
    const found = DRIVER_ONLY.filter((p) => packages.has(p)).map((p) => `${p} (imported by ${packages.get(p)})`);
    expect(found).toEqual([]);
    expect(files).not.toContain(path.join(src, 'closure/analyze.ts'));
  });

  it('loads crypto, zlib and os only when a save or a gzip file needs them', () => {
    const { files, builtins } = workerGraph();
    // The modules that use them are in the graph, and the walk sees Node's modules (node:fs is everywhere).
    for (const f of ['io/output-committer.ts', 'io/line-reader.ts']) expect(files).toContain(path.join(src, f));
    expect(builtins.has('node:fs')).toBe(true);
    const found = LATE_BUILTINS.filter((m) => builtins.has(m)).map((m) => `${m} (imported by ${builtins.get(m)})`);
    expect(found).toEqual([]);
  });
});
