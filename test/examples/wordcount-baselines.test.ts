/**
 * The two single-thread word-count baselines of the COST benchmark count the same tokens: the byte-scanning loop
 * agrees with the `split` loop on any text (empty lines, runs of spaces, non-ASCII words, a missing final
 * newline, words crossing the 4 MiB read boundary, hash collisions in a table that grows).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { wordCountBaseline } from '../../bench/baselines/wordcount.js';
import { wordCountScanBaseline } from '../../bench/baselines/wordcount-scan.js';
import { useTempDir } from './helpers.js';

describe('word-count baselines', () => {
  const tmp = useTempDir('wc-baselines');

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
        writeFileSync(lf, lines.map(([l]) => `${l}\n`).join(''));
        writeFileSync(mixed, lines.map(([l, end]) => l + end).join(''));
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
