/**
 * Synthetic text corpus: Zipf-distributed words (s = 1, the classic natural-language law) over a large
 * vocabulary, 5 to 15 words a line. It is the word-count benchmark's input, so what matters is a
 * realistic key skew (a few very hot keys, a long tail of rare ones) at a controllable size.
 *
 * Words are made from their rank rather than from a word list: rank r is written in bijective base 75,
 * one consonant-vowel syllable per digit. That gives distinct, lowercase, roughly pronounceable words
 * ("ba", "kezu", "mipoda"), and short words for frequent ranks, as in real language: ranks 0–74 take
 * one syllable, the next 5,625 two, and the rest of a 200k vocabulary three.
 */

import { SeededRandom } from '../core/random.js';
import { writeChunks } from './sink.js';
import { ZipfDistribution } from './zipf.js';
import { InvalidArgumentError } from '../core/errors.js';

const CONSONANTS = 'bdfghklmnprstvz';
const VOWELS = 'aeiou';
const SYLLABLES = CONSONANTS.length * VOWELS.length;

/** Default vocabulary size. */
export const DEFAULT_VOCABULARY = 200_000;
/** Default seed shared by all generators. */
export const DEFAULT_SEED = 42;
/** Fewest and most words on a line (inclusive). */
export const MIN_WORDS_PER_LINE = 5;
export const MAX_WORDS_PER_LINE = 15;
/** The Zipf exponent of word frequencies. */
export const TEXT_ZIPF_EXPONENT = 1.0;

/** Parameters of a text corpus. */
export interface TextOptions {
  /** Target size in bytes: lines are produced until the total (newlines included) reaches it. */
  bytes: number;
  seed?: number;
  vocabulary?: number;
}

/**
 * The word of 0-based frequency rank `rank` (0 is the most frequent word).
 *
 * @example
 * ```ts
 * wordForRank(0);  // "ba"
 * wordForRank(75); // "baba": the first two-syllable word
 * ```
 */
export function wordForRank(rank: number): string {
  if (!Number.isInteger(rank) || rank < 0) throw new InvalidArgumentError(`rank must be a non-negative integer, got ${rank}`);
  let rest = rank;
  let syllables = 1;
  let count = SYLLABLES;
  while (rest >= count) {
    rest -= count;
    syllables++;
    count *= SYLLABLES;
  }
  let word = '';
  for (let i = 0; i < syllables; i++) {
    const digit = rest % SYLLABLES;
    rest = Math.floor(rest / SYLLABLES);
    word = CONSONANTS[Math.floor(digit / VOWELS.length)]! + VOWELS[digit % VOWELS.length]! + word;
  }
  return word;
}

interface Vocabulary {
  readonly zipf: ZipfDistribution;
  /** All words' ASCII bytes back to back; word r spans offsets[r] .. offsets[r + 1]. */
  readonly bytes: Uint8Array;
  readonly offsets: Int32Array;
  readonly longestWord: number;
}

const vocabularies = new Map<number, Vocabulary>();

function vocabularyOf(size: number): Vocabulary {
  let vocab = vocabularies.get(size);
  if (vocab !== undefined) return vocab;
  const offsets = new Int32Array(size + 1);
  const words: string[] = new Array<string>(size);
  let total = 0;
  let longestWord = 0;
  for (let r = 0; r < size; r++) {
    const w = wordForRank(r);
    words[r] = w;
    total += w.length;
    offsets[r + 1] = total;
    if (w.length > longestWord) longestWord = w.length;
  }
  const bytes = new Uint8Array(total);
  for (let r = 0; r < size; r++) {
    const w = words[r]!;
    const at = offsets[r]!;
    for (let i = 0; i < w.length; i++) bytes[at + i] = w.charCodeAt(i);
  }
  vocab = { zipf: new ZipfDistribution(size, TEXT_ZIPF_EXPONENT), bytes, offsets, longestWord };
  vocabularies.set(size, vocab);
  return vocab;
}

/** Produces the corpus line by line as bytes; shared by the file writer and the iterators. */
class LineSource {
  readonly maxLineBytes: number;
  readonly #rng: SeededRandom;
  readonly #vocab: Vocabulary;

  constructor(seed: number, vocabulary: number) {
    if (!Number.isInteger(vocabulary) || vocabulary < 1) {
      throw new InvalidArgumentError(`vocabulary must be a positive integer, got ${vocabulary}`);
    }
    this.#rng = new SeededRandom(seed);
    this.#vocab = vocabularyOf(vocabulary);
    this.maxLineBytes = MAX_WORDS_PER_LINE * (this.#vocab.longestWord + 1);
  }

  /** Writes one line, newline included, at `pos`; returns the position after it. */
  writeLine(buf: Uint8Array, pos: number): number {
    const rng = this.#rng;
    const { zipf, bytes, offsets } = this.#vocab;
    const words = MIN_WORDS_PER_LINE + rng.nextInt(MAX_WORDS_PER_LINE - MIN_WORDS_PER_LINE + 1);
    for (let w = 0; w < words; w++) {
      const rank = zipf.sample(rng);
      const end = offsets[rank + 1]!;
      for (let i = offsets[rank]!; i < end; i++) buf[pos++] = bytes[i]!;
      buf[pos++] = w + 1 < words ? 32 : 10; // ' ' between words, '\n' after the last
    }
    return pos;
  }
}

function resolve(opts: TextOptions): { bytes: number; seed: number; vocabulary: number } {
  if (!(opts.bytes >= 0) || !Number.isFinite(opts.bytes)) throw new InvalidArgumentError(`bytes must be >= 0, got ${opts.bytes}`);
  return { bytes: opts.bytes, seed: opts.seed ?? DEFAULT_SEED, vocabulary: opts.vocabulary ?? DEFAULT_VOCABULARY };
}

/**
 * The corpus as lines (without their `\n`), synchronously. Joining them with `\n` and appending a final
 * `\n` gives exactly the bytes {@link writeTextCorpus} writes for the same options.
 *
 * @example
 * ```ts
 * for (const line of textLines({ bytes: 1024, seed: 7 })) console.log(line.split(' ').length); // 5..15
 * ```
 */
export function* textLines(opts: TextOptions): Generator<string, void, undefined> {
  const { bytes, seed, vocabulary } = resolve(opts);
  const source = new LineSource(seed, vocabulary);
  const buf = Buffer.allocUnsafe(source.maxLineBytes);
  let produced = 0;
  while (produced < bytes) {
    const end = source.writeLine(buf, 0);
    produced += end;
    yield buf.toString('latin1', 0, end - 1);
  }
}

/**
 * The corpus as an async stream of lines (without their `\n`); see {@link textLines}.
 *
 * @example
 * ```ts
 * let words = 0;
 * for await (const line of generateText({ bytes: 64 * 1024, seed: 1 })) words += line.split(' ').length;
 * ```
 */
export async function* generateText(opts: TextOptions): AsyncGenerator<string, void, undefined> {
  yield* textLines(opts);
}

/**
 * Writes a corpus of about `bytes` bytes to `path`: lines are added until the size reaches `bytes`, so
 * the file overshoots by less than one line. Returns the exact size written.
 *
 * @example
 * ```ts
 * const size = await writeTextCorpus('data/words.txt', { bytes: 50 * 1024 * 1024, seed: 42 });
 * ```
 */
export async function writeTextCorpus(path: string, opts: TextOptions): Promise<number> {
  const { bytes, seed, vocabulary } = resolve(opts);
  const source = new LineSource(seed, vocabulary);
  let produced = 0;
  return writeChunks(path, (buf) => {
    const limit = buf.length - source.maxLineBytes;
    let pos = 0;
    while (pos <= limit && produced + pos < bytes) pos = source.writeLine(buf, pos);
    produced += pos;
    return pos;
  });
}
