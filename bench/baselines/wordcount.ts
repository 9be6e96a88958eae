/**
 * Hand-written single-threaded word count: the COST baseline. Reads the file in 4 MiB chunks (cut at the last
 * line end so no line or UTF-8 character is split), splits lines and words, counts in one Map. A line ends at `\n`,
 * `\r\n` or a lone `\r`, as textFile (Hadoop's LineRecordReader) reads the same file, so a CRLF or CR file counts
 * the same words as its LF copy; empty lines have no words.
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
      const last = lastLineEnd(chunk, n);
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

/**
 * The index of the last `\n` or `\r` in `buf[0 .. n)`, or -1. A `\r\n` cut after its `\r` leaves an empty line at
 * the start of the next chunk, which has no words.
 */
function lastLineEnd(buf: Buffer, n: number): number {
  let i = n - 1;
  while (i >= 0 && buf[i] !== 10 && buf[i] !== 13) i--;
  return i;
}

function countText(text: string, counts: Map<string, number>): void {
  // A text without \r (the common case) is split by the plain string, as fast as before line ends were textFile's.
  for (const line of text.includes('\r') ? text.split(/\r\n?|\n/) : text.split('\n')) {
    if (line.length === 0) continue;
    for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
}
