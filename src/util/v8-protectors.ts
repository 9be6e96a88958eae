/**
 * V8 compiles typed-array loads and stores without a check that their buffer was detached for as long as no
 * ArrayBuffer of the isolate ever was (its "ArrayBufferDetaching" protector). The first transfer (a map output or
 * a result posted with its buffers) breaks that promise, and V8 then throws away every optimized function that
 * relied on it, all at once, and compiles each again when it is hot: in a cold word count, the string table's
 * whole path of each worker, right after its first map task, recompiled on the cores the tasks need
 * (docs/benchmarks.md, session 22). A thread that will transfer buffers anyway gives the promise up at its start,
 * before anything is compiled, so each function is optimized once, with the checks it would end up with.
 *
 * @example
 * ```ts
 * import { detachOnce } from '../util/v8-protectors.js';
 * detachOnce(); // first thing in a worker thread's entry
 * ```
 */
export function detachOnce(): void {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
}
