/**
 * Hand-written single-threaded word count: the COST baseline. Reads the file in 4 MiB chunks (cut at the last
 * line end, decoded as one UTF-8 stream so no line or character is split), splits lines and words, counts in one Map. A line ends at `\n`,
 * `\r\n` or a lone `\r`, as textFile (Hadoop's LineRecordReader) reads the same file, so a CRLF or CR file counts
 * the same words as its LF copy; each line's tokens are `line.split(' ')`'s, the example's, so an empty line counts
 * one empty word here as there.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export function wordCountBaseline(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  const fd = openSync(path, 'r');
  const chunk = Buffer.allocUnsafe(4 << 20);
  // One decoder over the whole file: a read may end inside a UTF-8 character, whose bytes it holds for the next.
  const utf8 = new StringDecoder('utf8');
  let carry = '';
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const last = lastLineEnd(chunk, n);
      if (last < 0) {
        carry += utf8.write(chunk.subarray(0, n));
        continue;
      }
      // Decoded with its line end (one byte, never inside a character), which is then cut off.
      let text = carry + utf8.write(chunk.subarray(0, last + 1)).slice(0, -1);
      // The \r of a \r\n ends the line, not the text: left in, it would split off an empty line that is not there.
      if (chunk[last] === 10 && text.endsWith('\r')) text = text.slice(0, -1);
      carry = utf8.write(chunk.subarray(last + 1, n));
      countText(text, counts);
    }
    carry += utf8.end();
    // A final line without its line end; a final lone \r ends the last line (an empty one, when that is all).
    if (carry.length > 0) countText(carry.endsWith('\r') ? carry.slice(0, -1) : carry, counts);
  } finally {
    closeSync(fd);
  }
  return counts;
}

/**
 * The index of the last `\n` or `\r` in `buf[0 .. n)`, or -1; a `\r` that is the read's last byte does not count
 * (a `\n` may follow it in the next read: cut there, the `\n` would start an empty line that is not in the file).
 */
function lastLineEnd(buf: Buffer, n: number): number {
  let i = buf[n - 1] === 13 ? n - 2 : n - 1;
  while (i >= 0 && buf[i] !== 10 && buf[i] !== 13) i--;
  return i;
}

function countText(text: string, counts: Map<string, number>): void {
  // A text without \r (the common case) is split by the plain string, as fast as before line ends were textFile's.
  for (const line of text.includes('\r') ? text.split(/\r\n?|\n/) : text.split('\n')) {
    for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
}
