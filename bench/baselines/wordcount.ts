/**
 * Hand-written single-threaded word count: the COST baseline. Reads the file in 4 MiB chunks (cut at the last
 * newline so no line or UTF-8 character is split), splits lines and words, counts in one Map.
 */
import { closeSync, openSync, readSync } from 'node:fs';

export function wordCountBaseline(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(4 << 20);
  let carry = '';
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const last = chunk.lastIndexOf(10, n - 1);
      if (last < 0) {
        carry += chunk.toString('utf8', 0, n);
        continue;
      }
      const text = carry + chunk.toString('utf8', 0, last);
      carry = chunk.toString('utf8', last + 1, n);
      countText(text, counts);
    }
    if (carry.length > 0) countText(carry, counts);
  } finally {
    closeSync(fd);
  }
  return counts;
}

function countText(text: string, counts: Map<string, number>): void {
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
}
