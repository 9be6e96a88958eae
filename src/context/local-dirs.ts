/**
 * The context's scratch folder for worker spill files: created (and checked writable) when the context starts,
 * removed at stop() and, if the program ends without stop(), when the process exits or is ended by SIGINT or
 * SIGTERM (which skip 'exit').
 *
 * Signals: one listener per signal serves every live context of the process. When it runs and no other
 * listener is registered, the program had asked for the default behaviour (die by the signal), so it removes
 * the folders, unregisters itself and raises the signal again: the process ends as it would have, killed by
 * the signal (status 130 / 143 in a shell). When the program has its own listeners, it does nothing: they
 * decide whether the process ends, and the folders must stay while it runs; they go at 'exit' or stop().
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidOptionError } from '../core/errors.js';

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
      this.root = mkdtempSync(path.join(parent, `kindling-${safe}-`));
      writeFileSync(path.join(this.root, '.probe'), '');
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
