/**
 * The single-thread baselines read an edge list as the examples' `textFile` does, so that their validation compares
 * the same graph: a line ends at `\n`, `\r\n` or a lone `\r` (Hadoop's LineRecordReader).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readEdgeList } from '../../../bench/baselines/pagerank.js';
import { parseEdge } from '../../../examples/pagerank.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'edges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The examples' reading: lines as textFile gives them, blank and `#` lines dropped, then parseEdge. */
function asTextFile(text: string): Array<[number, number]> {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.filter((l) => l.trim().length > 0 && !l.startsWith('#')).map(parseEdge);
}

describe('readEdgeList', () => {
  it('reads the edges textFile + parseEdge read, whatever the line ends (lone \\r included), comments and blank lines', () => {
    const edge = fc.tuple(fc.nat(999), fc.nat(999), fc.constantFrom(' ', '\t', '  ', ' \t'), fc.constantFrom('', ' ', '\t'));
    const end = fc.constantFrom('\n', '\r\n', '\r', '\n\n', '\r\n# a comment\r\n', '\r# x\r');
    fc.assert(
      fc.property(fc.array(fc.tuple(edge, end), { maxLength: 30 }), fc.boolean(), (lines, finalEnd) => {
        let text = lines.map(([[a, b, sep, tail], e]) => `${a}${sep}${b}${tail}${e}`).join('');
        if (!finalEnd) text = text.replace(/[\r\n]+$/, '');
        const file = path.join(dir, 'edges.txt');
        writeFileSync(file, text);
        const { src, dst } = readEdgeList(file);
        expect(Array.from(src, (s, i) => [s, dst[i]])).toEqual(asTextFile(text));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses an id its CSR cannot index (past 2^31 - 1) instead of wrapping it onto another vertex', () => {
    const file = path.join(dir, 'big-ids.txt');
    writeFileSync(file, '1 2\n2147483648 1\n');
    expect(() => readEdgeList(file)).toThrow(/big-ids\.txt: an id past 2\^31 - 1/);
    writeFileSync(file, '1 2\n2147483647 1\n');
    expect(readEdgeList(file).src[1]).toBe(2147483647);
  });
});
