/**
 * Hand-written single-threaded word count that scans bytes instead of splitting strings: the stricter COST
 * baseline. It reads the file in 4 MiB chunks, hashes each word's bytes as it scans them, and counts in an
 * open-addressing table keyed by those bytes, so a string is made only the first time a word is seen (the
 * `split` loop of ./wordcount.ts makes an array of lines, one of words per line and a string per word). Same
 * tokens as `line.split(' ')` on every line (an empty token between two spaces counts, as it does there, and an
 * empty line is one empty token); separators are the bytes of ' ', '\n' and '\r', which UTF-8 never uses inside a character. A line ends at
 * `\n`, `\r\n` or a lone `\r`, as textFile (Hadoop's LineRecordReader) reads the same file.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Counts the space-separated words of the file at `path`.
 *
 * @example
 * ```ts
 * const counts = wordCountScanBaseline('data/text-bytes52428800-vocabulary200000-seed42.txt');
 * ```
 */
export function wordCountScanBaseline(path: string): Map<string, number> {
  const table = new WordTable();
  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(4 << 20);
  let have = 0; // bytes at the start of buf carried over from the previous read (a line without its newline yet)
  try {
    for (;;) {
      if (have === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = readSync(fd, buf, have, buf.length - have, null);
      const end = have + n;
      if (n === 0) {
        if (end > 0) {
          scanLines(table, Buffer.concat([buf.subarray(0, end), Buffer.from('\n')]), end + 1);
        }
        break;
      }
      // The last line end, not counting a \r that ends the read (its \n may come in the next read: cut between them,
      // the \n would start an empty line that is not in the file).
      let last = buf[end - 1] === 13 ? end - 2 : end - 1;
      while (last >= 0 && buf[last] !== 10 && buf[last] !== 13) last--;
      if (last < 0) {
        have = end;
        continue;
      }
      scanLines(table, buf, last + 1);
      buf.copy(buf, 0, last + 1, end);
      have = end - last - 1;
    }
  } finally {
    closeSync(fd);
  }
  return table.toMap();
}

/**
 * Counts the words of `buf[0 .. end)`, which ends with a line end and holds every `\r\n` whole: as `line.split(' ')`
 * does, a token ends at each space and at each line end, the empty ones included (an empty line is one empty word);
 * the `\n` of a `\r\n` ends nothing more.
 */
function scanLines(table: WordTable, buf: Buffer, end: number): void {
  let start = 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    // Most bytes are above ' ': one comparison for them; the other control bytes (a tab) are part of words too.
    if (c > 32 || (c !== 32 && c !== 10 && c !== 13)) {
      h = Math.imul(h ^ c, 0x01000193);
      continue;
    }
    if (c !== 10 || i === 0 || buf[i - 1] !== 13) table.add(buf, start, i, h >>> 0);
    start = i + 1;
    h = 0x811c9dc5;
  }
}

/** Words by their bytes (FNV-1a hash, linear probing); a word's string is made once, when first seen. */
class WordTable {
  #slots = new Int32Array(1 << 16).fill(-1);
  #hashes = new Uint32Array(1 << 12);
  #starts = new Int32Array(1 << 12);
  #lengths = new Int32Array(1 << 12);
  #counts = new Float64Array(1 << 12);
  #bytes = new Uint8Array(1 << 20);
  #used = 0;
  #words: string[] = [];

  add(buf: Buffer, from: number, to: number, h: number): void {
    const len = to - from;
    const mask = this.#slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const id = this.#slots[s]!;
      if (id < 0) {
        this.#slots[s] = this.#insert(buf, from, to, h);
        if (this.#words.length * 2 > this.#slots.length) this.#rehash();
        return;
      }
      if (this.#hashes[id] !== h || this.#lengths[id] !== len) continue;
      const at = this.#starts[id]!;
      let same = true;
      for (let j = 0; j < len; j++) {
        if (this.#bytes[at + j] !== buf[from + j]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.#counts[id]!++;
        return;
      }
    }
  }

  #insert(buf: Buffer, from: number, to: number, h: number): number {
    const id = this.#words.length;
    if (id === this.#hashes.length) {
      this.#hashes = grow(this.#hashes);
      this.#starts = grow(this.#starts);
      this.#lengths = grow(this.#lengths);
      this.#counts = grow(this.#counts);
    }
    const len = to - from;
    while (this.#used + len > this.#bytes.length) this.#bytes = grow(this.#bytes);
    this.#bytes.set(buf.subarray(from, to), this.#used);
    this.#hashes[id] = h;
    this.#starts[id] = this.#used;
    this.#lengths[id] = len;
    this.#counts[id] = 1;
    this.#used += len;
    this.#words.push(buf.toString('utf8', from, to));
    return id;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2).fill(-1);
    const mask = slots.length - 1;
    for (let id = 0; id < this.#words.length; id++) {
      let s = this.#hashes[id]! & mask;
      while (slots[s] !== -1) s = (s + 1) & mask;
      slots[s] = id;
    }
    this.#slots = slots;
  }

  toMap(): Map<string, number> {
    const out = new Map<string, number>();
    for (let id = 0; id < this.#words.length; id++) out.set(this.#words[id]!, this.#counts[id]!);
    return out;
  }
}

function grow<A extends Uint32Array | Int32Array | Float64Array | Uint8Array>(a: A): A {
  const bigger = new (a.constructor as new (n: number) => A)(a.length * 2);
  bigger.set(a);
  return bigger;
}
