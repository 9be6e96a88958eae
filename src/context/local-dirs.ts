/**
 * The context's scratch folder for worker spill files: created (and checked writable) when the context starts,
 * removed at stop() and, if the program ends without stop(), when the process exits or is ended by SIGINT or
 * SIGTERM (which skip 'exit'). A process killed by SIGKILL leaves its folder: the next context started in the same
 * parent folder on the machine removes it (see removeStaleLocalDirs).
 *
 * Signals: one listener per signal serves every live context of the process. When it runs and no other
 * listener is registered, the program had asked for the default behaviour (die by the signal), so it removes
 * the folders, unregisters itself and raises the signal again: the process ends as it would have, killed by
 * the signal (status 130 / 143 in a shell). When the program has its own listeners, it does nothing: they
 * decide whether the process ends, and the folders must stay while it runs; they go at 'exit' or stop().
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidOptionError } from '../core/errors.js';
import { isProcessAlive } from '../util/process-owner.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

interface SignalCleanup {
  readonly dirs: Set<LocalDirs>;
  readonly listener: (signal: NodeJS.Signals) => void;
}

/**
 * Process-wide, in the global registry: with two copies of this module loaded, each would count the other's
 * listener as the program's own, and neither would re-raise the signal.
 */
const cleanup: SignalCleanup = ((globalThis as Record<symbol, unknown>)[Symbol.for('kindling.localDirs.signals')] ??= {
  dirs: new Set<LocalDirs>(),
  listener: (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    for (const d of [...cleanup.dirs]) {
      try {
        d.onSignal?.(signal);
      } catch {
        // The folders must go whatever a context's last words do.
      }
      d.remove();
    }
    process.kill(process.pid, signal);
  },
}) as SignalCleanup;

/**
 * The file in a spill folder naming the process that owns it: a SIGKILL (or a crash of the whole machine's process)
 * runs no hook, so the folder stays, and a later context in the same parent folder removes it once that process is
 * gone. Folders without it (another program's, or an older kindling's) are never touched.
 */
const OWNER_FILE = '.owner';

interface Owner {
  readonly pid: number;
  readonly host: string;
  /** The process's start time in clock ticks since boot (Linux), so that a reused pid is not taken for the owner. */
  readonly start?: string;
}

/** A process's start time (field 22 of /proc/PID/stat), or undefined where there is no /proc or no such process. */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after its closing one.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(owner: Owner): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  const start = startOf(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
}

/**
 * Removes the spill folders under `parent` left by kindling processes of this machine that are gone (killed by
 * SIGKILL, or crashed). Never throws: a folder it cannot read or remove is left.
 */
export function removeStaleLocalDirs(parent: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith('kindling-'));
  } catch {
    return 0;
  }
  const host = os.hostname();
  for (const name of names) {
    const dir = path.join(parent, name);
    let owner: Owner;
    try {
      owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as Owner;
    } catch {
      continue;
    }
    if (typeof owner?.pid !== 'number' || owner.host !== host || alive(owner)) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch {
      // Another user's, or being removed by someone else: left.
    }
  }
  return removed;
}

function register(dirs: LocalDirs): void {
  if (cleanup.dirs.size === 0) for (const s of SIGNALS) process.on(s, cleanup.listener);
  cleanup.dirs.add(dirs);
}

function unregister(dirs: LocalDirs): void {
  if (!cleanup.dirs.delete(dirs)) return;
  if (cleanup.dirs.size === 0) for (const s of SIGNALS) process.off(s, cleanup.listener);
}

export class LocalDirs {
  readonly root: string;
  readonly #onExit = () => this.remove();

  /**
   * @param onSignal Runs when SIGINT or SIGTERM is about to end the process (the context cancels its jobs,
   *   so that their end is recorded), before the folder is removed.
   */
  constructor(
    parent: string,
    appName: string,
    readonly onSignal?: (signal: NodeJS.Signals) => void,
  ) {
    const safe = appName.replace(/[^\w.-]+/g, '_').slice(0, 40) || 'app';
    try {
      mkdirSync(parent, { recursive: true });
      removeStaleLocalDirs(parent);
      this.root = mkdtempSync(path.join(parent, `kindling-${safe}-`));
      // Also the check that the folder is writable.
      const owner: Owner = { pid: process.pid, host: os.hostname(), start: startOf(process.pid) };
      writeFileSync(path.join(this.root, OWNER_FILE), JSON.stringify(owner));
    } catch (e) {
      throw new InvalidOptionError(
        `kindling cannot use ${path.resolve(parent)} for spill files (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
          'pass a writable folder as the localDir option',
      );
    }
    process.once('exit', this.#onExit);
    register(this);
  }

  /** Removes the folder and this context's exit and signal hooks. Never throws: it runs on the way out. */
  remove(): void {
    process.off('exit', this.#onExit);
    unregister(this);
    try {
      // Workers may still be writing spill files while a signal ends the process: retry a folder that refills.
      rmSync(this.root, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
    } catch (e) {
      process.emitWarning(`kindling could not remove its spill folder ${this.root}: ${(e as Error).message}`);
    }
  }
}
