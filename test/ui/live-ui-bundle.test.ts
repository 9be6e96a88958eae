/**
 * The live UI loads as one bundled file (scripts/bundle.js, run by `npm run build`) rather than the seven modules
 * only it uses, on the UI's first connection. The bundle shares the modules the context loads eagerly (the listener,
 * one set of event types), is used only while current, and serves the same UI.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = path.resolve(import.meta.dirname, '../../dist');
const ui = path.join(dist, 'ui');

describe('live UI bundle', () => {
  it('the build leaves a current bundle, and a context of the built package loads it', async () => {
    const bundle = path.join(ui, 'live-ui-bundle.js');
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(path.join(ui, 'live-ui.js')).mtimeMs);
    const built = (await import(pathToFileURL(path.join(ui, 'index.js')).href)) as typeof import('../../src/ui/index.js');
    expect(built.liveUiBundle()).toBe(pathToFileURL(bundle).href);
  });

  it('holds the modules only the live UI loads, and imports the rest from the very files the context loads', () => {
    // The source map lists every file bundled into it.
    const { sources } = JSON.parse(readFileSync(path.join(ui, 'live-ui-bundle.js.map'), 'utf8')) as { sources: string[] };
    const names = sources.map((s) => path.basename(s.replaceAll('\\', '/'))).sort();
    // The status store and REST are the UI's thread's (ui-thread-bundle.cjs), not the driver's.
    expect(names).toEqual(['client.ts', 'live-ui.ts', 'server.ts', 'streaming-client.ts', 'ui-thread-protocol.ts'].sort());
    const text = readFileSync(path.join(ui, 'live-ui-bundle.js'), 'utf8');
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]!);
    for (const shared of ['./listen.js', './../scheduler/events.js']) expect(imports).toContain(shared);
    // Every relative import names a file of the build, as seen from dist/ui.
    for (const i of imports.filter((i) => i.startsWith('.'))) expect(statSync(path.resolve(ui, i)).isFile(), i).toBe(true);
  });

  it("bundles the UI's thread whole, with the status store and REST, and a built live UI starts it from that bundle", async () => {
    const bundle = path.join(ui, 'ui-thread-bundle.cjs');
    expect(statSync(bundle).mtimeMs).toBeGreaterThanOrEqual(statSync(path.join(ui, 'ui-thread.js')).mtimeMs);
    const { sources } = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[] };
    const names = sources.map((s) => path.basename(s.replaceAll('\\', '/')));
    for (const held of ['ui-thread.ts', 'status-store.ts', 'rest.ts', 'streaming-store.ts', 'task-event-batch.ts']) expect(names).toContain(held);
    // Nothing left to resolve in the thread but Node's own modules.
    const requires = [...readFileSync(bundle, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect(requires.filter((r) => !r.startsWith('node:'))).toEqual([]);
    const built = (await import(pathToFileURL(path.join(ui, 'live-ui.js')).href)) as typeof import('../../src/ui/live-ui.js');
    expect(built.uiThreadEntry().href).toBe(pathToFileURL(bundle).href);
  });

  it('serves the UI from the bundle: a built context’s job shows in the REST API by the time its action settles', async () => {
    const { Context } = (await import(pathToFileURL(path.join(dist, 'index.js')).href)) as typeof import('../../src/index.js');
    const sc = new Context({ master: 'local[1]', progress: false, ui: { port: 0 } });
    try {
      expect(await sc.parallelize([1, 2, 3], 3).count()).toBe(3);
      const url = await sc.uiWebUrl();
      expect(url).toBeDefined();
      const [app] = (await (await fetch(`${url}/api/v1/applications`)).json()) as Array<{ id: string }>;
      const jobs = (await (await fetch(`${url}/api/v1/applications/${app!.id}/jobs`)).json()) as Array<{ status: string; numTasks: number }>;
      expect(jobs.map((j) => [j.status, j.numTasks])).toEqual([['SUCCEEDED', 3]]);
    } finally {
      await sc.stop();
    }
  });
});
