/**
 * The two single-thread word-count baselines of the COST benchmark count the same tokens: the byte-scanning loop
 * agrees with the `split` loop on any text (empty lines, runs of spaces, non-ASCII words, a missing final
 * newline, words crossing the 4 MiB read boundary, hash collisions in a table that grows), and both count what the
 * benchmark's kindling program counts (`textFile(path).flatMap((line) => line.split(' '))`), so that the COST
 * benchmark's check of the two results holds on any text, not only the generated one.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wordCountBaseline } from '../../bench/baselines/wordcount.js';
import { wordCountScanBaseline } from '../../bench/baselines/wordcount-scan.js';
import { useContext, useTempDir } from './helpers.js';

/** What the kindling program counts: textFile's lines (ended by \n, \r\n or \r; none after a final line end), split on ' '. */
function programCounts(text: string): Map<string, number> {
  const lines = text.split(/\r\n|\r|\n/);
  if (/[\r\n]$/.test(text) || text === '') lines.pop();
  const counts = new Map<string, number>();
  for (const line of lines) for (const w of line.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

describe('word-count baselines', () => {
  const tmp = useTempDir('wc-baselines');
  const sc = useContext('memory');

  it("count what the program counts: empty lines as one empty word, every line end's kind, any final line end", () => {
    const word = fc.array(fc.constantFrom('a', 'b', 'é', '€', '😀', '\t'), { maxLength: 3 }).map((cs) => cs.join(''));
    const line = fc.array(word, { maxLength: 4 }).map((ws) => ws.join(' '));
    const ending = fc.constantFrom('\n', '\r\n', '\r');
    fc.assert(
      fc.property(fc.array(fc.tuple(line, ending), { maxLength: 20 }), fc.option(line, { nil: undefined }), (lines, unended) => {
        const text = lines.map(([l, end]) => l + end).join('') + (unended ?? '');
        const file = join(tmp(), 'model.txt');
        writeFileSync(file, text);
        const want = programCounts(text);
        expect(wordCountBaseline(file)).toEqual(want);
        expect(wordCountScanBaseline(file)).toEqual(want);
      }),
      { numRuns: 50 },
    );
  });

  it('agree with the kindling program itself on a text of blank lines, runs of spaces and line ends of each kind', async () => {
    const file = join(tmp(), 'program.txt');
    writeFileSync(file, '\n\nthe cat\r\n\r\n  sat  \r\rsur le tapis €\n\n😀 the\r');
    const program = new Map(
      await sc()
        .textFile(file)
        .flatMap((line) => line.split(' '))
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b)
        .collect(),
    );
    // Five empty lines and the four empty tokens around '  sat  '.
    expect(program.get('')).toBe(9);
    expect(wordCountBaseline(file)).toEqual(program);
    expect(wordCountScanBaseline(file)).toEqual(program);
  });

  it('decode a character cut by the 4 MiB read boundary whole, on a line longer than a read or not', () => {
    for (const [name, text] of [
      ['cut-line.txt', `${'x'.repeat((4 << 20) - 1)}€uro\nend\n`],
      ['cut-word.txt', `${'y '.repeat((2 << 20) - 1)}z€uro\nend\n`],
    ] as const) {
      const file = join(tmp(), name);
      writeFileSync(file, text);
      const want = programCounts(text);
      expect(wordCountBaseline(file)).toEqual(want);
      expect(wordCountScanBaseline(file)).toEqual(want);
    }
  });

  it('count the same tokens on random texts', () => {
    const word = fc.array(fc.constantFrom('a', 'b', 'c', 'é', '€', '😀'), { maxLength: 4 }).map((cs) => cs.join(''));
    const line = fc.array(word, { maxLength: 6 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.boolean(), (lines, finalNewline) => {
        const file = join(tmp(), 'random.txt');
        writeFileSync(file, lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : ''));
        expect(wordCountScanBaseline(file)).toEqual(wordCountBaseline(file));
      }),
      { numRuns: 200 },
    );
  });

  it('read lines as textFile does: a CRLF or CR copy of a text counts the same words as its LF original', () => {
    const word = fc.array(fc.constantFrom('a', 'b', 'é', '😀', '\t'), { maxLength: 4 }).map((cs) => cs.join(''));
    const line = fc.array(word, { maxLength: 5 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 30 }), (lines) => {
        const lf = join(tmp(), 'lf.txt');
        const mixed = join(tmp(), 'mixed.txt');
        const text = lines.map(([l, end]) => l + end).join('');
        // Its LF copy as textFile reads it: a lone \r followed by an empty line's \n is one \r\n, one line end.
        writeFileSync(lf, text.replace(/\r\n?/g, '\n'));
        writeFileSync(mixed, text);
        const want = wordCountBaseline(lf);
        expect(wordCountBaseline(mixed)).toEqual(want);
        expect(wordCountScanBaseline(mixed)).toEqual(want);
      }),
      { numRuns: 50 },
    );
    // A \r\n cut by the 4 MiB read boundary, and a CR-only file larger than one read.
    const cut = join(tmp(), 'cut.txt');
    writeFileSync(cut, `${'x'.repeat((4 << 20) - 1)}\r\nlast word\r\n`);
    expect(wordCountBaseline(cut)).toEqual(
      new Map([
        ['x'.repeat((4 << 20) - 1), 1],
        ['last', 1],
        ['word', 1],
      ]),
    );
    expect(wordCountScanBaseline(cut)).toEqual(wordCountBaseline(cut));
    const cr = join(tmp(), 'cr.txt');
    const crLines = Array.from({ length: 600_000 }, (_, i) => `w${i % 1000} v`);
    writeFileSync(cr, crLines.join('\r'));
    const crCounts = wordCountBaseline(cr);
    expect(crCounts.get('v')).toBe(600_000);
    expect(crCounts.get('w7')).toBe(600);
    expect(wordCountScanBaseline(cr)).toEqual(crCounts);
  });

  it('count the same tokens across read boundaries and a large vocabulary', () => {
    const file = join(tmp(), 'big.txt');
    const lines: string[] = [];
    // ~9 MiB: several 4 MiB reads, words cut by each boundary; 300k distinct words make the table grow many times.
    for (let i = 0; lines.length < 300_000; i++) lines.push(`w${i % 300_000} x${(i * 7919) % 1000} ${'y'.repeat(i % 13)}`);
    writeFileSync(file, `${lines.join('\n')}\n\n${'z'.repeat(5 << 20)}`);
    const scan = wordCountScanBaseline(file);
    expect(scan).toEqual(wordCountBaseline(file));
    expect(scan.size).toBeGreaterThan(300_000);
  });
});
