/** Processes below this one (Linux /proc), for the chaos bench's "no orphan process" check, and a free port. */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';

export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly cmd: string;
}

/** Every live process whose chain of parents reaches `pid` (zombies included: a child not reaped is left too). */
export function descendants(pid: number): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // The command in parentheses may hold spaces: the parent is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      all.push({ pid: Number(d), ppid, cmd });
    } catch {
      // gone meanwhile
    }
  }
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all)
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        grew = true;
      }
  }
  return all.filter((p) => p.pid !== pid && below.has(p.pid));
}

/** A free loopback port (another program may take it before it is bound: callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
