import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ModuleImportError } from '../core/errors.js';

/**
 * Default `ClosureRuntime.importModule`: imports `specifier` the way the user's script would.
 * It first tries a plain `import()` (builtins, and packages visible from kindling itself); for
 * a bare name that is not found that way it resolves the name from the driver's working
 * directory `cwd`, so packages installed next to the user's script are found too.
 *
 * @example
 * ```ts
 * import { importModuleFrom } from './index.js';
 * const zlib = await importModuleFrom('node:zlib', process.cwd());
 * ```
 */
export async function importModuleFrom(specifier: string, cwd: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (err) {
    // A path was pinned to the driver's working directory by useModule: a script in another folder that wrote
    // useModule('./helper.js') met a bare ERR_MODULE_NOT_FOUND naming a file it never mentioned.
    if (specifier.startsWith('file:')) {
      throw new ModuleImportError(
        `cannot import module ${fileURLToPath(specifier)} (declared with useModule; a relative path is resolved from the ` +
          `driver's working directory, ${cwd}, not from the script's folder): ${(err as Error).message}`,
        { cause: err },
      );
    }
    // Any failure qualifies (loaders and test runners word "not found" differently); if the
    // name does not resolve from cwd either, the original error is the one worth reporting.
    if (!isBare(specifier)) throw err;
    let resolved: string;
    try {
      resolved = resolveFrom(specifier, cwd);
    } catch {
      throw new ModuleImportError(`cannot import module '${specifier}' (declared with useModule) from ${cwd}: ` + `${(err as Error).message}`, {
        cause: err,
      });
    }
    return import(pathToFileURL(resolved).href);
  }
}

function isBare(specifier: string): boolean {
  return !/^(?:[a-zA-Z][a-zA-Z\d+.-]*:|\.{1,2}(?:\/|$)|\/)/.test(specifier);
}

function resolveFrom(specifier: string, cwd: string): string {
  try {
    return createRequire(path.join(cwd, 'noop.js')).resolve(specifier);
  } catch (err) {
    // require.resolve ignores the "import" condition, so an ESM-only package's entry point is
    // "not exported" to it; read that package's exports map ourselves.
    if ((err as { code?: unknown }).code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw err;
    const found = resolveImportOnly(specifier, cwd);
    if (found === undefined) throw err;
    return found;
  }
}

function resolveImportOnly(specifier: string, cwd: string): string | undefined {
  const parts = specifier.split('/');
  const nameLength = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const subpath = ['.', ...parts.slice(nameLength)].join('/');
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    const manifest = path.join(pkgDir, 'package.json');
    if (existsSync(manifest)) {
      const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown };
      const target = pickExport(exports, subpath);
      return target === undefined ? undefined : path.join(pkgDir, target);
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

const CONDITIONS = new Set(['import', 'node', 'default']);

function pickExport(exports: unknown, subpath: string): string | undefined {
  if (typeof exports === 'object' && exports !== null && !Array.isArray(exports) && Object.keys(exports).some((k) => k.startsWith('.'))) {
    return pickTarget((exports as Record<string, unknown>)[subpath]);
  }
  return subpath === '.' ? pickTarget(exports) : undefined;
}

function pickTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (Array.isArray(target)) {
    for (const t of target) {
      const picked = pickTarget(t);
      if (picked !== undefined) return picked;
    }
    return undefined;
  }
  if (typeof target === 'object' && target !== null) {
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.has(condition)) continue;
      const picked = pickTarget(value);
      if (picked !== undefined) return picked;
    }
  }
  return undefined;
}
