import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

const run = promisify(execFile);

test('a function shipped from a tsx script compiles in a worker, __name calls included; import.meta is rejected', async () => {
  const script = fileURLToPath(new URL('./fixtures/tsx-ship.ts', import.meta.url));
  const { stdout } = await run('npx', ['--no-install', 'tsx', script], { timeout: 30_000 });
  const out = JSON.parse(stdout) as { src: string; direct: string[]; result: string[]; importMetaError: string };
  expect(out.src).toContain('__name(');
  expect(out.direct).toEqual(['scale:3', 'scale:6']);
  expect(out.result).toEqual(out.direct);
  expect(out.importMetaError).toContain('map function of RDD 2 (meta) uses import.meta');
});
