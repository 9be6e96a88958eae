/**
 * The spill folders of a context (`localDir`) do not outlive the process: removed at stop(), at exit, and when
 * SIGINT or SIGTERM ends a program that has no listener of its own, which then still dies by that signal.
 * A program with its own listeners keeps its behaviour and its folders until it exits.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Context } from 'kindling';

const root = mkdtempSync(path.join(tmpdir(), 'kindling-signals-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  lines: unknown[];
  spillFoldersBefore: string[];
}

/** Runs test/fixtures/signal-job.mjs, sends `signal` once its contexts are up, and reports how it ended. */
function runAndSignal(signal: NodeJS.Signals, localDir: string, args: string[]): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['test/fixtures/signal-job.mjs', localDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: unknown[] = [];
    let spillFoldersBefore: string[] = [];
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the fixture did not end in time'));
    }, 50_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as { ready?: boolean };
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.ready) {
          spillFoldersBefore = readdirSync(localDir);
          child.kill(signal);
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, lines, spillFoldersBefore });
    });
  });
}

describe('spill folders and signals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'on %s without listeners of the program, every context removes its folder and the process dies by the signal',
    async (signal) => {
      const localDir = path.join(root, `default-${counter++}`);
      const ended = await runAndSignal(signal, localDir, ['2']);
      expect(ended.spillFoldersBefore).toHaveLength(2);
      expect(ended.spillFoldersBefore.every((d) => d.startsWith('kindling-signal-'))).toBe(true);
      expect(ended.signal).toBe(signal);
      expect(ended.code).toBeNull();
      expect(readdirSync(localDir)).toEqual([]);
    },
  );

  it('leaves a signal to the listeners of a program that has its own; the folders go when it exits', async () => {
    const localDir = path.join(root, `own-${counter++}`);
    const ended = await runAndSignal('SIGTERM', localDir, ['1', 'own-handler']);
    // The program's listener ran with the spill folder still in place, and its exit code is the one it chose.
    expect(ended.lines).toContainEqual({ handled: 'SIGTERM', spillFolders: 1 });
    expect(ended.code).toBe(7);
    expect(ended.signal).toBeNull();
    expect(readdirSync(localDir)).toEqual([]);
  });

  it('a SIGKILLed process leaves its folders, and the next context in that parent removes them (and no folder of a live owner or not ours)', async () => {
    // SIGKILL runs no hook: the folders (with their DISK_ONLY partitions) stay until a later context sees their owner gone.
    const localDir = path.join(root, `killed-${counter++}`);
    const ended = await runAndSignal('SIGKILL', localDir, ['2']);
    expect(ended.signal).toBe('SIGKILL');
    const left = readdirSync(localDir);
    expect(left).toHaveLength(2);
    // Not ours: no owner file. A live owner: this process (its pid and start time). A reused pid: this process's pid
    // with another start time, the owner that wrote it gone.
    const own = JSON.parse(readFileSync(path.join(localDir, left[0]!, '.owner'), 'utf8')) as { pid: number; host: string; start?: string };
    expect(own.pid).not.toBe(process.pid);
    mkdirSync(path.join(localDir, 'kindling-foreign-x'));
    const live = path.join(localDir, 'kindling-live-x');
    mkdirSync(live);
    const sc = new Context({ master: 'local[1]', progress: false, localDir });
    const mine = readdirSync(localDir).find((d) => !['kindling-foreign-x', 'kindling-live-x', ...left].includes(d))!;
    const me = readFileSync(path.join(localDir, mine, '.owner'), 'utf8');
    await sc.stop();
    writeFileSync(path.join(live, '.owner'), me);
    const reused = path.join(localDir, 'kindling-reused-x');
    mkdirSync(reused);
    const stale = JSON.parse(me) as { pid: number; host: string; start?: string };
    writeFileSync(path.join(reused, '.owner'), JSON.stringify({ ...stale, start: stale.start === undefined ? undefined : `${stale.start}1` }));
    expect(readdirSync(localDir).sort()).toEqual(['kindling-foreign-x', 'kindling-live-x', 'kindling-reused-x']);
    const next = new Context({ master: 'local[1]', progress: false, localDir });
    const after = readdirSync(localDir).filter((d) => d.endsWith('-x'));
    await next.stop();
    // The killed process's two folders went with the first context; the reused pid's with the second (where /proc
    // tells start times apart).
    expect(after.sort()).toEqual(
      stale.start === undefined ? ['kindling-foreign-x', 'kindling-live-x', 'kindling-reused-x'] : ['kindling-foreign-x', 'kindling-live-x'],
    );
  });

  it('registers one listener per signal for all contexts, and stop() of the last one removes it', async () => {
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    const localDir = path.join(root, `in-process-${counter++}`);
    const a = new Context({ master: 'local[1]', progress: false, localDir });
    const b = new Context({ master: 'local[1]', progress: false, localDir });
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM + 1);
    await a.stop();
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM + 1);
    expect(readdirSync(localDir)).toHaveLength(1);
    await b.stop();
    expect(process.listenerCount('SIGINT')).toBe(before.SIGINT);
    expect(process.listenerCount('SIGTERM')).toBe(before.SIGTERM);
    expect(readdirSync(localDir)).toEqual([]);
  });

  it.each(['memory', 'mapreduce'] as const)('%s engine: a job that failed mid-shuffle leaves nothing once the context stops', async (engine) => {
    const localDir = path.join(root, `failed-${counter++}`);
    const sc = new Context({ master: 'local[2]', progress: false, hints: false, engine, localDir, maxTaskFailures: 1 });
    try {
      // Map outputs written (to disk in the mapreduce engine), then a reduce task throws.
      const failed = sc
        .range(0, 20_000, 1, 4)
        .map((i): [number, number] => [i % 100, i])
        .reduceByKey((a, b) => a + b, 2)
        .map(([k, v]) => {
          if (k === 7) throw new Error('boom');
          return v;
        })
        .collect();
      await expect(failed).rejects.toThrow(/boom/);
      expect(readdirSync(localDir)).toHaveLength(1);
      // The mapreduce engine's map outputs are files in that folder: there is something to remove.
      const written = readdirSync(path.join(localDir, readdirSync(localDir)[0]!), { recursive: true });
      if (engine === 'mapreduce') expect(written.length).toBeGreaterThan(1);
    } finally {
      await sc.stop();
    }
    expect(readdirSync(localDir)).toEqual([]);
  });
});
