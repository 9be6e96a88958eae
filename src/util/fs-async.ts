/**
 * Asynchronous file operations for code that can run on a worker thread: promises made over Node's callback API,
 * never `node:fs/promises` (nor `fs.promises`, nor a `FileHandle`'s methods).
 *
 * Why: kindling terminates workers on purpose (a fault, a cancelled stuck task, the heap guard, `stop()`). Node 20
 * makes the request object of a `fs/promises` call (and of `FileHandle.write`/`read`/`close`) in C++, and once the
 * worker's isolate is terminating that object cannot be made; node then aborts on a CHECK (`(req_wrap) !=
 * nullptr` in `AsyncDestCall`), taking the driver and every job with it. Measured: it happens when a `fs/promises`
 * call rejects as the worker is torn down and the code handling the rejection calls `fs/promises` again at once (a
 * failed `open`, then `mkdir`: `bench/faults.ts` aborted twice, each time after ~300–350 runs; loops of that step in
 * workers terminated at random moments aborted node in 15 of 24 runs of 200–600 terminations, while the same loops
 * through callbacks, or with a callback call between the rejection and the next `fs/promises` call, never did; see
 * test/util/fs-async.test.ts). The callback API makes its request object in JavaScript, where a terminating
 * isolate is an ordinary termination, not a CHECK. Same family as nodejs/node#42910 and #43533. `biome.json` forbids `node:fs/promises` in the folders whose
 * code workers run.
 */
import fs from 'node:fs';

type Done<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

/**
 * `fs.mkdir` as a promise: resolves to the first folder made when `recursive` (else `undefined`).
 *
 * @example
 * ```ts
 * await mkdir('/tmp/kindling/shuffle-3', { recursive: true });
 * ```
 */
export function mkdir(dir: string, options: fs.MakeDirectoryOptions = {}): Promise<string | undefined> {
  return call<string | undefined>((done) => fs.mkdir(dir, options, done));
}

/**
 * `fs.open` as a promise: resolves to a file descriptor, which the caller closes with {@link close}.
 *
 * @example
 * ```ts
 * const fd = await open('/tmp/out.bin', 'w');
 * try { await writeAll(fd, bytes, 0); } finally { await close(fd); }
 * ```
 */
export function open(file: string, flags: fs.OpenMode): Promise<number> {
  return call<number>((done) => fs.open(file, flags, done));
}

/**
 * `fs.close` as a promise.
 *
 * @example
 * ```ts
 * await close(fd);
 * ```
 */
export function close(fd: number): Promise<void> {
  return call<void>((done) => fs.close(fd, (err) => done(err, undefined)));
}

/**
 * Writes all of `bytes` to `fd` at file offset `position` (looping over short writes).
 *
 * @example
 * ```ts
 * await writeAll(fd, new Uint8Array([1, 2, 3]), 4096); // bytes 4096..4098 of the file
 * ```
 */
export async function writeAll(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    done += await call<number>((cb) => fs.write(fd, bytes, done, bytes.length - done, position + done, (err, written) => cb(err, written)));
  }
}

/**
 * `fs.rm` as a promise.
 *
 * @example
 * ```ts
 * await rm('/tmp/kindling/old', { recursive: true, force: true });
 * ```
 */
export function rm(target: string, options: fs.RmOptions = {}): Promise<void> {
  return call<void>((done) => fs.rm(target, options, (err) => done(err, undefined)));
}

/**
 * `fs.rmdir` as a promise (an empty folder).
 *
 * @example
 * ```ts
 * await rmdir('/tmp/kindling/empty');
 * ```
 */
export function rmdir(dir: string): Promise<void> {
  return call<void>((done) => fs.rmdir(dir, (err) => done(err, undefined)));
}

/**
 * `fs.rename` as a promise.
 *
 * @example
 * ```ts
 * await rename('/tmp/a.part', '/tmp/a');
 * ```
 */
export function rename(from: string, to: string): Promise<void> {
  return call<void>((done) => fs.rename(from, to, (err) => done(err, undefined)));
}

/**
 * `fs.lstat` as a promise.
 *
 * @example
 * ```ts
 * (await lstat('/tmp')).isDirectory(); // true
 * ```
 */
export function lstat(target: string): Promise<fs.Stats> {
  return call<fs.Stats>((done) => fs.lstat(target, done));
}

/**
 * `fs.readdir` as a promise: the names, or with `{ withFileTypes: true }` the entries.
 *
 * @example
 * ```ts
 * const names = await readdir('/tmp');
 * const files = (await readdir('/tmp', { withFileTypes: true })).filter((e) => e.isFile());
 * ```
 */
export function readdir(dir: string): Promise<string[]>;
export function readdir(dir: string, options: { withFileTypes: true }): Promise<fs.Dirent[]>;
export function readdir(dir: string, options?: { withFileTypes: true }): Promise<string[] | fs.Dirent[]> {
  if (options?.withFileTypes) return call<fs.Dirent[]>((done) => fs.readdir(dir, { withFileTypes: true }, done));
  return call<string[]>((done) => fs.readdir(dir, done));
}

/**
 * `fs.writeFile` as a promise (a string is written as UTF-8).
 *
 * @example
 * ```ts
 * await writeFile('/tmp/out/_SUCCESS', '');
 * ```
 */
export function writeFile(file: string, data: string | Uint8Array): Promise<void> {
  return call<void>((done) => fs.writeFile(file, data, (err) => done(err, undefined)));
}
