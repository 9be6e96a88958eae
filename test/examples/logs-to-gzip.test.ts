/**
 * Logs-to-gzip example: each day's archive decompresses to exactly that day's lines from every input file, in
 * time order; the per-day summary (lines, bytes, errors) matches the input, and summary.json holds it.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateLogs, run, validateArchives } from '../../examples/logs-to-gzip.js';
import { ENGINES, useContext, useTempDir } from './helpers.js';

/** The expected archives, computed directly from the input files: day -> sorted lines. */
function expectedDays(dir: string): { days: Map<string, string[]>; skipped: number } {
  const days = new Map<string, string[]>();
  let skipped = 0;
  for (const f of readdirSync(dir).filter((n) => !n.startsWith('.'))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      if (line.length === 0) continue;
      if (!/^\d{4}-\d{2}-\d{2}T/.test(line)) {
        skipped++;
        continue;
      }
      const day = line.slice(0, 10);
      if (!days.has(day)) days.set(day, []);
      days.get(day)!.push(line);
    }
  }
  for (const lines of days.values()) lines.sort();
  return { days, skipped };
}

describe.each(ENGINES)('logs-to-gzip example (%s engine)', (engine) => {
  const ctx = useContext(engine);
  const tmp = useTempDir('logs');

  it("archives every day: the archive decompresses to exactly the day's lines, in time order", async () => {
    const input = join(tmp(), 'logs');
    const output = join(tmp(), 'archive');
    generateLogs(input, { files: 3, days: 4, linesPerFile: 1500, seed: 9 });
    const { summary } = await run(ctx(), { input, output });
    const expected = expectedDays(input);
    expect(summary.days.map((d) => d.day)).toEqual(['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-04']);
    expect(summary.skipped).toBe(expected.skipped);
    expect(summary.skipped).toBeGreaterThan(0); // the generator writes some stack-trace lines
    expect(readdirSync(output).sort()).toEqual([...summary.days.map((d) => `${d.day}.log.gz`), 'summary.json']);
    for (const d of summary.days) {
      const lines = expected.days.get(d.day)!;
      const text = gunzipSync(readFileSync(join(output, `${d.day}.log.gz`))).toString('utf8');
      expect(text).toBe(lines.join('\n') + '\n');
      expect(d.lines).toBe(lines.length);
      expect(d.bytes).toBe(Buffer.byteLength(text));
      expect(d.errors).toBe(lines.filter((l) => l.split(/\s+/)[1] === 'ERROR').length);
      expect(d.gzipBytes).toBeLessThan(d.bytes);
    }
    expect(summary.lines).toBe(3 * 1500);
    expect(JSON.parse(readFileSync(join(output, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(() => validateArchives(summary)).not.toThrow();
  });

  it('handles non-ASCII text, a file without a final newline, and replaces archives on a second run', async () => {
    const input = join(tmp(), 'mixed');
    const output = join(tmp(), 'mixed-archive');
    generateLogs(input, { files: 1, days: 1, linesPerFile: 10, start: '2023-12-31' });
    writeFileSync(join(input, 'extra.log'), '2023-12-31T23:59:59.999Z ERROR [é] naïve café ☕\n2024-01-01T00:00:00.000Z INFO  [x] new year');
    await run(ctx(), { input, output });
    const { summary } = await run(ctx(), { input, output });
    const expected = expectedDays(input);
    expect(summary.days.map((d) => [d.day, d.lines])).toEqual([
      ['2023-12-31', 11],
      ['2024-01-01', 1],
    ]);
    for (const d of summary.days) {
      expect(gunzipSync(readFileSync(d.archive)).toString('utf8')).toBe(expected.days.get(d.day)!.join('\n') + '\n');
    }
    expect(summary.days[0]!.errors).toBeGreaterThanOrEqual(1);
    expect(readdirSync(output).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
