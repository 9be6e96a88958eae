import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import { userCallSite } from '../../src/util/call-site.js';

const run = promisify(execFile);

/** The 1-based line of `file` holding `marker`. */
const lineOf = (file: string, marker: string): number =>
  readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker)) + 1;

test('an RDD made in a tsx script is named by its line in the TypeScript source (mapped through the source map)', async () => {
  const script = fileURLToPath(new URL('./fixtures/call-sites.ts', import.meta.url));
  const { stdout } = await run('npx', ['--no-install', 'tsx', script], { timeout: 30_000 });
  const { debug, again } = JSON.parse(stdout) as { debug: string; again: string[] };
  for (const op of ['parallelize', 'map', 'reduceByKey']) expect(debug).toContain(`at ${op} at call-sites.ts:${lineOf(script, `MARK ${op}`)} `);
  // Asked again from the same sites (the answer is kept per position), each still names its own line.
  const first = `map at call-sites.ts:${lineOf(script, 'MARK again first')})`;
  const second = `filter at call-sites.ts:${lineOf(script, 'MARK again second')})`;
  expect(again.map((l) => l.replace(/^RDD \d+ \(/, ''))).toEqual([first, second, first, second, first, second]);
});

const saved = Error.prepareStackTrace;
afterEach(() => {
  Error.prepareStackTrace = saved;
});

test('a prepareStackTrace installed by a tool formats the stack, and is left installed', () => {
  // What source-map-support and similar tools do: their own formatting, frames rewritten to the original files.
  const tool = (_e: Error, sites: NodeJS.CallSite[]): string =>
    ['Error', ...sites.map(() => '    at somewhere (/opt/app/node_modules/lib/index.js:1:1)'), '    at main (/home/me/job.ts:77:3)'].join('\n');
  Error.prepareStackTrace = tool;
  expect(userCallSite()).toBe('job.ts:77');
  expect(Error.prepareStackTrace).toBe(tool);
});

test('with Node formatting stacks, the first frame outside kindling is named, and the formatting is left as it was', () => {
  const before = Error.prepareStackTrace;
  const site = (() => userCallSite())(); // MARK direct
  expect(site).toMatch(/^call-site\.test\.ts:\d+$/);
  expect(Error.prepareStackTrace).toBe(before);
  // A stack formatted after it still goes through Node's formatting (or the test runner's), not a list of call sites.
  expect(typeof new Error('x').stack).toBe('string');
});
