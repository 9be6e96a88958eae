/**
 * The history server (`kindling history DIR`) as a reviewer would try to break it: logs of applications killed
 * mid-job, truncated, hand-edited or not logs at all, a folder that goes away, thousands of jobs, two applications
 * logging into one folder at once, and the command's --port and --host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Context } from 'kindling';
import { get, type Json, root } from './http-helpers.js';
import { EventLogFolder, startHistoryServer } from '../../src/ui/history.js';
import { readEventLog } from '../../src/ui/event-log.js';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'kindling-history-spec-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * SIGKILLs `child` once the event log it writes into `dir` holds what `logged` looks for (read as it is flushed), and
 * waits for it to end; fails if the child ends first or the log never gets there.
 */
async function killOnceLogged(
  child: ChildProcess,
  dir: string,
  what: string,
  logged: (events: ReturnType<typeof readEventLog>) => boolean,
): Promise<void> {
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    const deadline = Date.now() + 45_000;
    const holds = () => {
      const names = readdirSync(dir);
      return names.length > 0 && logged(readEventLog(path.join(dir, names[0]!)));
    };
    while (!holds()) {
      if (exited) throw new Error(`the child ended before its log held ${what}`);
      if (Date.now() > deadline) throw new Error(`the log never held ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGKILL');
    if (!exited) await new Promise((r) => child.once('exit', r));
  }
}

/** A finished application's log in `dir`: one count job. */
async function logOne(dir: string, appName: string): Promise<string> {
  const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, appName, eventLog: { dir } });
  await sc.parallelize([1, 2, 3], 1).count();
  await sc.stop();
  return sc.applicationId!;
}

describe('history server', () => {
  it('leaves out, and names once, a file it cannot read or that is no kindling log; the other applications are served', async () => {
    const dir = mkdtempSync(path.join(scratch, 'bad-files-'));
    const good = await logOne(dir, 'good');
    writeFileSync(path.join(dir, 'garbage.jsonl'), 'hello\n{"a":1}\n');
    writeFileSync(path.join(dir, 'empty.jsonl'), '');
    mkdirSync(path.join(dir, 'folder.jsonl'));
    symlinkSync(path.join(dir, 'no-such-target'), path.join(dir, 'dangling.jsonl'));
    const warnings: string[] = [];
    const folder = new EventLogFolder(dir, (m) => warnings.push(m));
    expect([...folder.apps().keys()]).toEqual([good]);
    expect([...folder.apps().keys()]).toEqual([good]);
    // Each bad file named once (the empty one is an application that died before its first line: nothing wrong).
    expect(warnings, warnings.join('\n')).toHaveLength(3);
    expect(warnings.find((w) => w.includes('garbage.jsonl'))).toMatch(/not a kindling event log/);
    expect(warnings.find((w) => w.includes('folder.jsonl'))).toMatch(/EISDIR/);
    expect(warnings.find((w) => w.includes('dangling.jsonl'))).toMatch(/ENOENT/);
    // And the server starts (it did not, failing on the folder named *.jsonl without naming it).
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const apps = (await get(`${server.url}/api/v1/applications`)) as Json[];
      expect(apps.map((a) => a.id)).toEqual([good]);
    } finally {
      await server.close();
    }
  });

  it('leaves out lines of a log that are no event it can read, and serves the rest of that application', async () => {
    const dir = mkdtempSync(path.join(scratch, 'bad-lines-'));
    const id = await logOne(dir, 'edited');
    const file = path.join(dir, `${id}.jsonl`);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    // Foreign and broken lines in the middle, and a line cut short at the end.
    lines.splice(2, 0, '123', 'null', '[]', '"x"', '{"type":"jobStart"}', '{"type":"stageSubmitted","stageId":"x"}', '{"type":"weird"}');
    writeFileSync(file, `${lines.join('\n')}\n{"type":"jobEnd","jobId":`);
    const warnings: string[] = [];
    const apps = new EventLogFolder(dir, (m) => warnings.push(m)).apps();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/edited|app-.*\.jsonl: 5 line\(s\) .* left out \(the first: not an event: 123\)/);
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const app = `${server.url}/api/v1/applications/${id}`;
      expect(apps.has(id)).toBe(true);
      const jobs = (await get(`${app}/jobs`)) as Json[];
      expect(jobs.map((j) => [j.jobId, j.status])).toEqual([[0, 'SUCCEEDED']]);
      expect(((await get(`${app}/stages`)) as Json[]).map((s) => s.status)).toEqual(['COMPLETE']);
      expect((await get(app)).attempts[0].completed).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('serves a copied log’s application once, naming the copy', async () => {
    const dir = mkdtempSync(path.join(scratch, 'copied-'));
    const id = await logOne(dir, 'copied');
    writeFileSync(path.join(dir, 'copy-of-it.jsonl'), readFileSync(path.join(dir, `${id}.jsonl`)));
    const warnings: string[] = [];
    const folder = new EventLogFolder(dir, (m) => warnings.push(m));
    expect([...folder.apps().keys()]).toEqual([id]);
    expect([...folder.apps().keys()]).toEqual([id]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`skipping .*(copy-of-it|${id})\\.jsonl: application ${id} is already read from another file`));
  });

  it('stays up when its folder goes away with a browser’s live stream open: requests name the folder, closing does not hang', async () => {
    const dir = mkdtempSync(path.join(scratch, 'gone-'));
    await logOne(dir, 'gone');
    const server = await startHistoryServer({ dir, port: 0 });
    const stream = await fetch(`${server.url}/kindling/stream?app=x`);
    const reader = stream.body!.getReader();
    await reader.read();
    rmSync(dir, { recursive: true, force: true });
    // The stream's timer asks for the folder every 250 ms: it threw in a timer, which ended the process.
    await new Promise((r) => setTimeout(r, 700));
    const r = await fetch(`${server.url}/api/v1/applications`);
    expect(r.status).toBe(500);
    const text = await r.text();
    expect(text).toContain(dir);
    expect(text).not.toMatch(/\n\s+at /); // a message, not a stack
    await server.close();
    await reader.cancel().catch(() => undefined);
  });

  it('refuses a folder that does not exist, naming it', async () => {
    const missing = path.join(scratch, 'no-such-folder');
    await expect(startHistoryServer({ dir: missing, port: 0 })).rejects.toThrow(`Cannot read the event log folder ${missing}`);
  });

  it('shows an application killed with SIGKILL mid-job as incomplete, with what its log holds, a truncated last line too', async () => {
    const dir = mkdtempSync(path.join(scratch, 'killed-'));
    const localDir = mkdtempSync(path.join(scratch, 'killed-local-'));
    const script = `
      import { Context } from 'kindling';
      const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, appName: 'killed', localDir: ${JSON.stringify(localDir)}, eventLog: { dir: ${JSON.stringify(dir)} } });
      await sc.parallelize([1, 2, 3, 4], 2).count();
      sc.events.on('taskStart', () => console.log('running'));
      await sc.parallelize([1, 2], 2).map((x) => { const t = Date.now(); while (Date.now() - t < 60000); return x; }).count();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('running') && resolve());
      child.on('exit', (code) => reject(new Error(`the child ended first (${code})`)));
    });
    // The log is flushed as it goes: killed once the second job's start is in the file (a fixed wait was outlasted at
    // load 15).
    await killOnceLogged(child, dir, "the second job's start", (events) => events.some((e) => e.type === 'jobStart' && e.jobId === 1));
    const [name] = readdirSync(dir);
    const id = name!.replace(/\.jsonl$/, '');
    appendFileSync(path.join(dir, name!), '{"type":"taskEnds","count":3,"stag');
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const [app] = (await get(`${server.url}/api/v1/applications`)) as Json[];
      expect(app).toMatchObject({ id, name: 'killed', attempts: [{ completed: false, endTimeEpoch: -1 }] });
      const jobs = (await get(`${server.url}/api/v1/applications/${id}/jobs`)) as Json[];
      expect(jobs.map((j) => [j.jobId, j.status])).toEqual([
        [1, 'RUNNING'],
        [0, 'SUCCEEDED'],
      ]);
      expect(jobs[1]!.numCompletedTasks).toBe(2);
      const page = await fetch(`${server.url}/history/${id}/jobs/`);
      expect(page.status).toBe(200);
    } finally {
      await server.close();
      rmSync(localDir, { recursive: true, force: true });
    }
  });

  it('shows the tasks an application killed with SIGKILL was computing as RUNNING, in a RUNNING job and an ACTIVE stage', async () => {
    // The log writes no task starts: without its tasksRunning lines these tasks were missing from the history.
    const dir = mkdtempSync(path.join(scratch, 'killed-running-'));
    const localDir = mkdtempSync(path.join(scratch, 'killed-running-local-'));
    const script = `
      import { Context } from 'kindling';
      const sc = new Context({ master: 'local[2]', progress: false, hints: false, ui: false, appName: 'stuck', localDir: ${JSON.stringify(localDir)}, eventLog: { dir: ${JSON.stringify(dir)} } });
      await sc.parallelize([1, 2, 3, 4], 2).count();
      await sc.parallelize([1, 2, 3], 3).map((x) => { const t = Date.now(); while (Date.now() - t < 120000); return x; }).count();
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    // Killed once its log lists two tasks of the second job computing (the third waits for a worker).
    await killOnceLogged(
      child,
      dir,
      'the two tasks running',
      (events) => events.flatMap((e) => (e.type === 'tasksRunning' ? e.tasks.filter((t) => t[0] === 1) : [])).length === 2,
    );
    const [name] = readdirSync(dir);
    const id = name!.replace(/\.jsonl$/, '');
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const app = `${server.url}/api/v1/applications/${id}`;
      expect((await get(app)).attempts[0].completed).toBe(false);
      const jobs = (await get(`${app}/jobs`)) as Json[];
      expect(jobs.map((j) => [j.jobId, j.status, j.numActiveTasks])).toEqual([
        [1, 'RUNNING', 2],
        [0, 'SUCCEEDED', 0],
      ]);
      const stage = (await get(`${app}/stages/1`)) as Json[];
      expect(stage.map((s) => [s.status, s.numActiveTasks, s.numTasks])).toEqual([['ACTIVE', 2, 3]]);
      const tasks = (await get(`${app}/stages/1/0/taskList`)) as Json[];
      expect(tasks.map((t) => t.status)).toEqual(['RUNNING', 'RUNNING']);
      expect(new Set(tasks.map((t) => t.executorId)).size).toBe(2);
      for (const t of tasks) {
        expect(t.duration).toBeUndefined();
        expect(Date.parse(t.launchTime.replace(/GMT$/, 'Z'))).toBeGreaterThanOrEqual(Date.parse(stage[0]!.submissionTime.replace(/GMT$/, 'Z')));
      }
      const executors = (await get(`${app}/executors`)) as Json[];
      expect(executors.reduce((n, e) => n + e.activeTasks, 0)).toBe(2);
    } finally {
      await server.close();
      rmSync(localDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('keeps the last 1,000 jobs (retainedJobs) of an application that ran 1,200', async () => {
    const dir = mkdtempSync(path.join(scratch, 'many-'));
    const sc = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, appName: 'many', eventLog: { dir } });
    const one = sc.parallelize([1], 1);
    for (let i = 0; i < 1200; i++) await one.count();
    await sc.stop();
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const jobs = (await get(`${server.url}/api/v1/applications/${sc.applicationId}/jobs`)) as Json[];
      expect(jobs).toHaveLength(1000);
      expect(jobs[0]!.jobId).toBe(1199);
      expect(jobs.at(-1)!.jobId).toBe(200);
      expect(((await get(`${server.url}/api/v1/applications/${sc.applicationId}/stages`)) as Json[]).length).toBeLessThanOrEqual(1000);
      expect((await fetch(`${server.url}/api/v1/applications/${sc.applicationId}/jobs/0`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('serves two applications that logged into one folder at the same time, each with its own jobs', async () => {
    const dir = mkdtempSync(path.join(scratch, 'two-'));
    const a = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, appName: 'a', eventLog: { dir } });
    const b = new Context({ master: 'local[1]', progress: false, hints: false, ui: false, appName: 'b', eventLog: { dir } });
    const run = async (sc: Context, n: number) => {
      for (let i = 0; i < n; i++) await sc.parallelize([1, 2, 3], 3).count();
    };
    await Promise.all([run(a, 5), run(b, 7)]);
    await Promise.all([a.stop(), b.stop()]);
    expect(a.applicationId).not.toBe(b.applicationId);
    const server = await startHistoryServer({ dir, port: 0 });
    try {
      const apps = (await get(`${server.url}/api/v1/applications`)) as Json[];
      expect(apps.map((x) => x.name).sort()).toEqual(['a', 'b']);
      for (const [sc, n] of [
        [a, 5],
        [b, 7],
      ] as const) {
        const jobs = (await get(`${server.url}/api/v1/applications/${sc.applicationId}/jobs`)) as Json[];
        expect(jobs.map((j) => j.status)).toEqual(Array(n).fill('SUCCEEDED'));
        expect(jobs.every((j) => j.numCompletedTasks === 3)).toBe(true);
      }
    } finally {
      await server.close();
    }
  });
});

describe('kindling history command', () => {
  /** Runs `kindling history` until it prints its address (or ends); resolves with the address or the exit. */
  function history(args: string[]): Promise<{ url?: string; code?: number | null; out: string; stop(): void }> {
    const child = spawn(process.execPath, [path.join(root, 'bin/kindling.js'), 'history', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    return new Promise((resolve) => {
      const stop = () => child.kill();
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /at (http:\/\/\S+) /.exec(out);
        if (m) resolve({ url: m[1], out, stop });
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => resolve({ code, out, stop }));
    });
  }

  it('takes the next free port when --port is taken, binds --host, and refuses a port that is no port', async () => {
    const dir = mkdtempSync(path.join(scratch, 'cli-'));
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const next = await history([dir, '--port', String(taken)]);
      try {
        expect(next.url).toBeDefined();
        expect(Number(new URL(next.url!).port)).toBeGreaterThan(taken);
        expect(await get(`${next.url}/api/v1/applications`)).toEqual([]);
      } finally {
        next.stop();
      }
    } finally {
      blocker.close();
    }
    const v6 = await history([dir, '--port', '0', '--host', '::1']);
    try {
      // Where the machine has no IPv6 loopback the command must say so and end, not hang.
      if (v6.url !== undefined) expect(v6.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      else expect(v6.out).toMatch(/could not listen on ::1/);
    } finally {
      v6.stop();
    }
    for (const bad of ['abc', '70000', '-1']) {
      const r = await history([dir, '--port', bad]);
      expect(r.code, bad).not.toBe(0);
      expect(r.out, bad).toMatch(/a port is an integer in 0\.\.65535/);
    }
  });
});
