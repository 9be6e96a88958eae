/**
 * The live UI's server under load and abuse: thousands of jobs (bounded history), live-stream clients that never
 * read and many that do, stop() with streams and pages in flight, and paths and queries no browser sends.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { Context } from 'kindling';
import { get, type Json, root } from './http-helpers.js';

/** A raw HTTP request on its own socket; resolves with the status line's code and the socket. */
function rawRequest(port: number, target: string): Promise<{ status: number; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    socket.once('data', (d) => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1]), socket }));
    socket.once('error', reject);
  });
}

/** A request with a Host header of our choosing (fetch sets its own), resolving with the status code. */
function withHost(port: number, method: string, target: string, host: string, origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: target, headers: { host, ...(origin ? { origin } : {}) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('live UI server', () => {
  it('keeps the last 1,000 of 5,000 jobs and at most 1,000 stages (retainedJobs / retainedStages) while the program runs', async () => {
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0 } });
    try {
      const app = `${await sc.uiWebUrl()}/api/v1/applications/${sc.applicationId}`;
      const one = sc.parallelize([1, 2], 2);
      for (let i = 0; i < 5000; i++) await one.count();
      const jobs = (await get(`${app}/jobs`)) as Json[];
      expect(jobs).toHaveLength(1000);
      expect([jobs[0]!.jobId, jobs.at(-1)!.jobId]).toEqual([4999, 4000]);
      const stages = (await get(`${app}/stages`)) as Json[];
      expect(stages.length).toBeLessThanOrEqual(1000);
      expect(stages[0]!.stageId).toBe(4999);
      expect((await fetch(`${app}/jobs/3999`)).status).toBe(404);
      // The executors' totals count every task, not only the retained ones.
      const execs = (await get(`${app}/executors`)) as Json[];
      expect(execs.reduce((n, e) => n + e.completedTasks, 0)).toBe(10_000);
    } finally {
      await sc.stop();
    }
  }, 180_000);

  it('tells every reading live-stream client of a change while 50 others never read, and stop() closes them all promptly', async () => {
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0 } });
    const url = (await sc.uiWebUrl())!;
    const port = Number(new URL(url).port);
    const stalled: net.Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const { status, socket } = await rawRequest(port, `/kindling/stream?app=${sc.applicationId}`);
      expect(status).toBe(200);
      socket.pause();
      stalled.push(socket);
    }
    const readers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${url}/kindling/stream?app=${sc.applicationId}`);
        const reader = r.body!.getReader();
        await reader.read(); // the version when it connected
        return reader;
      }),
    );
    const told = readers.map((r) => r.read());
    await sc.parallelize([1, 2, 3], 3).count();
    for (const t of await Promise.all(told)) expect(new TextDecoder().decode(t.value)).toMatch(/^data: \d+\n\n$/);
    const closedStalled = stalled.map((s) => new Promise((r) => s.once('close', r)));
    const started = Date.now();
    await sc.stop();
    expect(Date.now() - started).toBeLessThan(5000);
    for (const r of readers) {
      let done = false;
      // Whatever was pushed before the end, then the end.
      while (!done) done = (await r.read()).done;
    }
    for (const s of stalled) s.resume();
    await Promise.all(closedStalled);
  }, 60_000);

  it('ends the process after stop() while a page is being served and a live stream is open', async () => {
    const script = `
      import { Context } from 'kindling';
      const sc = new Context({ master: 'local[1]', progress: false, ui: { port: 0 } });
      const url = await sc.uiWebUrl();
      const stream = await fetch(url + '/kindling/stream?app=' + sc.applicationId);
      const reader = stream.body.getReader();
      await reader.read();
      void reader.read().catch(() => undefined);
      const page = fetch(url + '/api/v1/applications/' + sc.applicationId + '/jobs').catch(() => undefined);
      const job = sc.parallelize([1, 2, 3], 3).count();
      await job;
      await sc.stop();
      await page;
      console.log('stopped');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let killed = false;
    // Hanging means: still running well after it printed 'stopped' (the clock starts there: start-up on a loaded
    // machine is no hang).
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', () => {
      if (timer === undefined && out.includes('stopped'))
        timer = setTimeout(() => {
          killed = true;
          child.kill();
        }, 15_000);
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    clearTimeout(timer);
    expect(out).toContain('stopped');
    expect(killed).toBe(false);
    expect(code).toBe(0);
  }, 120_000);

  it('answers paths and queries no browser sends without a file outside its pages, a stack trace or a crash', async () => {
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0 } });
    try {
      const url = (await sc.uiWebUrl())!;
      const port = Number(new URL(url).port);
      await sc.parallelize([1], 1).count();
      const raw: Array<[string, number]> = [
        ['/../../../../etc/passwd', 404],
        ['/static/../../../../etc/passwd', 404],
        ['/%2e%2e/%2e%2e/etc/passwd', 404],
        ['/static/..%2f..%2fpackage.json', 404],
        ['/static/dagre.min.js/../../package.json', 404],
        ['//etc/passwd', 404],
        ['/jobs/job/?id=../../etc/passwd', 200], // the page; its script asks the API, which answers 404
        [`/api/v1/applications/${sc.applicationId}/jobs/..%2f..%2f`, 404],
        [`/api/v1/applications/${sc.applicationId}/jobs/${'9'.repeat(400)}`, 404],
        [`/api/v1/applications/${sc.applicationId}/stages/0/0/taskList?length=${'9'.repeat(30)}`, 200],
        [`/api/v1/applications/${sc.applicationId}/jobs/%00`, 404],
        ['/history/x/jobs/', 404], // a live UI has no history pages
        ['/kindling/stream?app=%E0%A4%A', 200],
      ];
      for (const [target, status] of raw) {
        const r = await rawRequest(port, target);
        r.socket.destroy();
        expect(r.status, target).toBe(status);
      }
      const long = await fetch(`${url}/jobs/?${'q='.padEnd(200_000, 'a')}`);
      expect([414, 431]).toContain(long.status);
      const body = await (await fetch(`${url}/static/..%2f..%2fpackage.json`)).text();
      expect(body).not.toContain('"name": "kindling"');
      expect((await fetch(`${url}/kindling/kill?id=0`, { method: 'POST' })).status).toBe(403);
      expect((await fetch(`${url}/api/v1/applications`, { method: 'DELETE' })).status).toBe(405);
      // Still serving.
      expect(((await get(`${url}/api/v1/applications`)) as Json[]).map((a) => a.id)).toEqual([sc.applicationId]);
    } finally {
      await sc.stop();
    }
  });

  it('bound to loopback, answers only loopback names: a page of another site made to resolve to 127.0.0.1 (DNS rebinding) reads and kills nothing', async () => {
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0, killEnabled: true } });
    const wide = new Context({ master: 'local[1]', progress: false, hints: false, ui: { port: 0, host: '0.0.0.0' } });
    try {
      const port = Number(new URL((await sc.uiWebUrl())!).port);
      const apps = '/api/v1/applications';
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `127.1.2.3:${port}`, 'localhost']) {
        expect(await withHost(port, 'GET', apps, host), host).toBe(200);
      }
      for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`, `10.0.0.1:${port}`]) {
        expect(await withHost(port, 'GET', apps, host), host).toBe(403);
        expect(await withHost(port, 'GET', '/', host), host).toBe(403);
        // Its Origin matches its Host, so only the Host guard stands between it and the kill link.
        expect(await withHost(port, 'POST', '/kindling/kill?id=0', host, `http://${host}`), host).toBe(403);
      }
      // Bound to every interface, the names it is reached by are the user's to choose.
      const widePort = Number(new URL((await wide.uiWebUrl())!).port);
      expect(await withHost(widePort, 'GET', apps, `my-workstation.lan:${widePort}`)).toBe(200);
    } finally {
      await Promise.all([sc.stop(), wide.stop()]);
    }
  });
});
