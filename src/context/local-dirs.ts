/**
 * The context's scratch folder for worker spill files: created (and checked writable) when the context starts,
 * removed at stop() and, if the program ends without stop(), when the process exits.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class LocalDirs {
  readonly root: string;
  readonly #onExit = () => this.remove();

  constructor(parent: string, appName: string) {
    const safe = appName.replace(/[^\w.-]+/g, '_').slice(0, 40) || 'app';
    try {
      mkdirSync(parent, { recursive: true });
      this.root = mkdtempSync(path.join(parent, `kindling-${safe}-`));
      writeFileSync(path.join(this.root, '.probe'), '');
    } catch (e) {
      throw new Error(
        `kindling cannot use ${path.resolve(parent)} for spill files (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
          'pass a writable folder as the localDir option',
      );
    }
    process.once('exit', this.#onExit);
  }

  remove(): void {
    process.off('exit', this.#onExit);
    rmSync(this.root, { recursive: true, force: true });
  }
}
