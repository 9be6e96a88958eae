/**
 * Runs a CommonJS bundle of `npm run build` (scripts/bundle.js) as Node runs a CommonJS file (the same five wrapper
 * arguments), but compiled with V8's code cache of it, kept beside it: V8 then skips parsing and compiling what the
 * cache holds (a worker's bundle: compiling and running its top level ~33 -> ~17 ms of CPU, docs/benchmarks.md,
 * session 19; the driver's: `import 'kindling'` ~30 ms less, session 28). Used by a worker thread's first file
 * (src/exec/local/worker-start.cts) and by the driver's entry (src/entry-bundle.ts).
 *
 * The first run that finds no cache of this very bundle writes one, once the bundle's top level ran (so the functions
 * run at start-up are in it), to a temporary file renamed into place: threads and processes may race, each writes a
 * whole file. The cache's name holds the bundle's modification time and size, taken before its text is read, and a
 * tag of the process's V8 flags (see flagsTag): a build that rewrites the bundle gives it a new name, so a cache is
 * only ever used with the text it was made from (V8's own check compares the source's length, not its text; it also
 * checks its version and flags, and rejects a mismatch: the bundle then compiles as usual). A cache that cannot be
 * written (a read-only install) only costs the compile it would have saved. A release build of V8 does not checksum a
 * code cache it is handed (a corrupt one crashed the process: "Fatal error ... unreachable code" in its deserializer),
 * so the file starts with a digest of the cache, checked before V8 sees it: a cache that does not match is ignored
 * and replaced.
 *
 * A CommonJS file (`.cts`): a worker loads it without setting up Node's ESM loader.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { threadId } from 'node:worker_threads';

/** What a run did with the cache (specs read it): V8 took it, refused it, there was none and one was written, or none. */
export type CodeCacheUse = 'accepted' | 'rejected' | 'written' | 'none';

/** A digest of a code cache's bytes, as hex: the caller's choice of cost (see wordDigest). */
export type Digest = (data: Uint8Array) => string;

/**
 * Runs `file` (a CommonJS bundle) compiled with its code cache, writing one if there was none or it was refused.
 * `flags` are the process's command-line flags as this thread knows them (a worker is told its process's).
 *
 * @example
 * ```ts
 * const { exports, use } = runWithCodeCache(path.join(__dirname, 'worker-bundle.cjs'), process.execArgv.join('\0'), wordDigest);
 * ```
 */
export function runWithCodeCache(file: string, flags: string, digest: Digest): { exports: unknown; use: CodeCacheUse } {
  // Stat first: were the bundle replaced between the two, the cache would be named after the older file, never used.
  const { mtimeMs, size } = statSync(file);
  const source = readFileSync(file, 'utf8');
  const cacheFile = `${file}.${Math.round(mtimeMs * 1000)}-${size}-${flagsTag(flags)}.cache`;
  const cache = readCache(cacheFile, digest);
  const cachedData = cache === 'corrupt' ? undefined : cache;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
  });
  let use: CodeCacheUse = cache === 'corrupt' || script.cachedDataRejected === true ? 'rejected' : cachedData === undefined ? 'none' : 'accepted';
  const module_ = { exports: {} };
  (script.runInThisContext() as (...args: unknown[]) => void)(module_.exports, createRequire(file), module_, file, path.dirname(file));
  if (use !== 'accepted' && writeCache(script, cacheFile, digest)) use = 'written';
  return { exports: module_.exports, use };
}

/** The cache's bytes, after the line holding their digest; 'corrupt' if they do not match it. */
function readCache(cacheFile: string, digest: Digest): Buffer | 'corrupt' | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const eol = bytes.indexOf(10);
  if (eol < 0 || eol > 128) return 'corrupt';
  const data = bytes.subarray(eol + 1);
  return bytes.toString('latin1', 0, eol).trimEnd() === digest(data) ? data : 'corrupt';
}

/**
 * FNV-1a over 32-bit words (the last 0–3 bytes one by one): ~1.5 ms for a worker's 200 KB cache, where node:crypto
 * would cost a worker's start-up ~8 ms to load. Detects damage, not tampering (whoever can write the cache can write
 * the bundle beside it).
 */
export function wordDigest(data: Uint8Array): string {
  const words = data.byteOffset % 4 === 0 ? new Int32Array(data.buffer, data.byteOffset, data.length >>> 2) : new Int32Array(0);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 0x01000193);
  for (let i = words.length << 2; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return `fnv32w-${data.length}-${(h >>> 0).toString(16)}`;
}

/**
 * A tag of the V8 flags this process runs with. V8 rejects a cache made under other flags, and processes with other
 * flags share this folder (a `--max-old-space-size`, or `--expose-gc`, which the heap guard and tests set at run
 * time): under one name, each rejected the other's cache and wrote its own in its place, so neither kept one (a spec
 * saw a worker's cache swapped between two workers of one context, CI session 23).
 */
function flagsTag(own: string): string {
  const flags = `${own}\0${process.env.NODE_OPTIONS ?? ''}\0${typeof (globalThis as { gc?: unknown }).gc}`;
  // FNV-1a: node:crypto would cost a worker's start-up more than the cache saves here.
  let h = 0x811c9dc5;
  for (let i = 0; i < flags.length; i++) h = Math.imul(h ^ flags.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function writeCache(script: vm.Script, cacheFile: string, digest: Digest): boolean {
  const tmp = `${cacheFile}.${process.pid}-${threadId}.tmp`;
  try {
    const data = script.createCachedData();
    // The digest's line padded to 8 bytes: the cache read after it stays aligned for wordDigest's words.
    const line = digest(data);
    writeFileSync(tmp, Buffer.concat([Buffer.from(`${line.padEnd(line.length + 7 - (line.length % 8))}\n`, 'latin1'), data]));
    renameSync(tmp, cacheFile);
    return true;
  } catch {
    // Not writable here: the next run compiles as this one did.
    rmSync(tmp, { force: true });
    return false;
  }
}
