/**
 * Who wrote a file that a crash may have left behind: a process id, meaningful only on the host that issued it. The
 * writers of temporary files and folders (save jobs, streaming checkpoints) put both in the name, and a later run
 * removes what a process of this host that is gone left.
 */

// Taken when first needed, not when this module loads: every worker thread loads its users at start (see
// io/output-committer.ts).
const crypto = () => process.getBuiltinModule('node:crypto');
const os = () => process.getBuiltinModule('node:os');

let hostTagOnce: string | undefined;
/** A short, stable tag of this host (8 hex characters of its name's hash). */
export const hostTag = (): string => (hostTagOnce ??= crypto().createHash('sha256').update(os().hostname()).digest('hex').slice(0, 8));

/** Whether a process of this host holds `pid` (EPERM: it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
