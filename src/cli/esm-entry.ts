/**
 * `kindling run` of a script whose package says CommonJS (npm 11's `npm init -y` writes `"type": "commonjs"`) but
 * whose code needs an ES module: top-level `await`, which every kindling script uses for its actions. tsx would
 * compile such a `.ts` file to CommonJS and stop with "Top-level await is currently not supported with the "cjs"
 * output format" before a line ran. Here the script itself is loaded as an ES module; what it imports keeps its
 * own package's format. Everything else runs as tsx runs it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The environment variable that names the entry (a file URL) to the resolve hook in the child process. */
export const ESM_ENTRY_ENV = 'KINDLING_ESM_ENTRY';

/** Extensions whose format follows the package's `type` (the others say it: .mts/.mjs module, .cts/.cjs CommonJS). */
const LOADERS = { '.ts': 'ts', '.tsx': 'tsx', '.js': 'js', '.jsx': 'jsx' } as const;

/** The `type` of the nearest package.json above `file` (Node's rule: none means CommonJS). */
function packageType(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        return (JSON.parse(readFileSync(pj, 'utf8')) as { type?: string }).type;
      } catch {
        return undefined; // Node reports an unreadable package.json itself, when it loads the script.
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Whether `script` must be loaded as an ES module although its package would make it CommonJS: only when compiling
 * it to CommonJS fails for its top-level `await` (a CommonJS script that uses `require` or `__dirname` keeps
 * working as it did).
 */
export async function needsEsmEntry(script: string): Promise<boolean> {
  const loader = LOADERS[path.extname(script) as keyof typeof LOADERS];
  if (loader === undefined || packageType(script) === 'module') return false;
  const { transform } = await import('esbuild');
  try {
    await transform(readFileSync(script, 'utf8'), { loader, format: 'cjs', logLevel: 'silent', sourcefile: script });
    return false;
  } catch (e) {
    return /Top-level await/.test(String((e as Error).message));
  }
}

/** The child's node flags and environment that load `script` as an ES module. */
export function esmEntryFlags(script: string): { flags: string[]; env: Record<string, string> } {
  const hook = new URL('./esm-entry-hook.js', import.meta.url).href;
  return { flags: ['--import', hook], env: { [ESM_ENTRY_ENV]: pathToFileURL(script).href } };
}
