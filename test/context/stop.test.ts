/**
 * Context.stop() leaves nothing behind even when the backend fails to stop (a child process that will not die):
 * the scratch folder goes, and the stop rejects with the backend's error.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The built modules themselves (not the package's bundle), so that the backend registered here is the one the
// context's master resolves to.
const dist = path.resolve('dist');
const { Context } = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('../../src/index.js');
const { registerBackend, resolveMaster } = (await import(
  pathToFileURL(path.join(dist, 'exec', 'backends.js')).href
)) as typeof import('../../src/exec/backends.js');

registerBackend({
  masters: "'stop-fails' (local[1] whose stop throws)",
  parallelism: (master) => (master === 'stop-fails' ? 1 : undefined),
  create(_master, parallelism, settings) {
    const backend = resolveMaster('local[1]', 1).factory.create('local[1]', parallelism, settings);
    const stop = backend.stop.bind(backend);
    backend.stop = async () => {
      await stop();
      throw new Error('the backend could not stop its executors');
    };
    return backend;
  },
});

const root = mkdtempSync(path.join(tmpdir(), 'kindling-stop-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('Context.stop()', () => {
  it("removes the context's scratch folder even when the backend fails to stop, then rejects with its error", async () => {
    const sc = new Context({ master: 'stop-fails', localDir: root, progress: false, ui: false });
    expect(
      await sc
        .parallelize([1, 2, 3], 2)
        .map((x) => x * 2)
        .sum(),
    ).toBe(12);
    expect(readdirSync(root)).toHaveLength(1);
    await expect(sc.stop()).rejects.toThrow('the backend could not stop its executors');
    expect(readdirSync(root)).toEqual([]);
    expect(sc.isStopped).toBe(true);
  });
});
