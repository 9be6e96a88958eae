/**
 * Resolving an input spec (`textFile("logs/*.gz,extra.txt")`) into the concrete files a job reads.
 *
 * Follows Hadoop's FileInputFormat listing rules, because users coming from Spark expect them:
 * directories contribute their direct files only (not recursive), and names starting with `_` or `.`
 * are treated as hidden so a previous job's `_SUCCESS` marker or an editor's `.swp` file never becomes
 * input. Runs on the driver only; workers receive the resulting absolute paths.
 */

import { readdirSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';

/**
 * Whether a file name is hidden by Hadoop's rule (leading `_` or `.`).
 *
 * @example
 * ```ts
 * isHiddenFileName('_SUCCESS'); // true
 * isHiddenFileName('part-00000'); // false
 * ```
 */
export function isHiddenFileName(name: string): boolean {
  return name.startsWith('_') || name.startsWith('.');
}

/**
 * Splits a comma-separated input spec, keeping commas inside `{a,b}` brace groups so a glob
 * alternative is not mistaken for two paths (the same rule as Hadoop's `getPathStrings`).
 *
 * @example
 * ```ts
 * splitInputSpec('a.txt, logs/{x,y}/*.log'); // ['a.txt', 'logs/{x,y}/*.log']
 * ```
 */
export function splitInputSpec(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i];
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(spec.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(spec.slice(from));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function statOrNull(p: string): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    if (isMissing(err)) return null;
    throw withPath(err, p);
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function withPath(err: unknown, p: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`Cannot read input path ${p} (${code}): ${message}. Check its permissions.`, {
    cause: err,
  });
}

/** Regular files directly inside `dir`, hidden names skipped; subdirectories are ignored (not recursive). */
function filesInDirectory(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw withPath(err, dir);
  }
  return names
    .filter((n) => !isHiddenFileName(n))
    .map((n) => path.join(dir, n))
    .filter((f) => statOrNull(f)?.isFile() === true);
}

/**
 * The glob's literal leading directory, so tinyglobby crawls only below it instead of from the cwd
 * (which it would otherwise have to relate every absolute result back to).
 */
function splitGlobBase(absPattern: string): { base: string; rest: string } {
  const firstMagic = absPattern.search(/[*?[\]{}()!]/);
  const cut = absPattern.lastIndexOf('/', firstMagic < 0 ? absPattern.length : firstMagic);
  if (cut <= 0) return { base: '/', rest: absPattern.slice(1) };
  return { base: absPattern.slice(0, cut), rest: absPattern.slice(cut + 1) };
}

function expandGlob(absPattern: string): string[] {
  const { base, rest } = splitGlobBase(absPattern);
  if (!statOrNull(base)?.isDirectory()) return [];
  const matches = globSync(rest, {
    cwd: base,
    absolute: true,
    onlyFiles: false,
    expandDirectories: false,
    dot: false,
  });
  const cleaned = matches
    .map((m) => (m.length > 1 && m.endsWith('/') ? m.slice(0, -1) : m))
    .filter((m) => !isHiddenFileName(path.basename(m)));
  // Stat every match before crawling any matched directory, so an unreadable match fails the listing
  // before time is spent reading directories whose files would be discarded anyway.
  const stats = cleaned.map(statOrNull);
  const files: string[] = [];
  cleaned.forEach((m, i) => {
    const s = stats[i];
    // A directory matched by a glob contributes its files, like Hadoop's globStatus + listStatus.
    if (s?.isDirectory()) files.push(...filesInDirectory(m));
    else if (s?.isFile()) files.push(m);
  });
  return files;
}

/**
 * Lists the files an input spec names, as Hadoop's FileInputFormat would, blocking until done.
 *
 * Synchronous because the driver resolves a `textFile` lazily inside synchronous RDD calls such as
 * `getNumPartitions()`, as Spark does. `spec` is a file, a directory (its direct files; subdirectories
 * are ignored), a glob (`data/*.txt`, `logs/**\/2024-*.log`), or a comma-separated list of these. Names
 * starting with `_` or `.` found in directories or by globs are skipped; a file named explicitly is
 * always kept. A path that exists is taken literally even if it contains glob characters. An existing
 * but empty directory yields no files without error.
 *
 * @returns absolute paths, sorted by code unit and deduplicated.
 * @throws when any entry does not exist or a glob matches nothing; the message names every such entry.
 *
 * @example
 * ```ts
 * const files = listInputFilesSync('data/*.txt,extra/notes.txt');
 * // ['/home/me/data/a.txt', '/home/me/data/b.txt', '/home/me/extra/notes.txt']
 * ```
 */
export function listInputFilesSync(spec: string): string[] {
  const entries = splitInputSpec(spec);
  if (entries.length === 0) {
    throw new Error(
      `Input path is empty: ${JSON.stringify(spec)}. Pass a file, a directory, a glob such as data/*.txt, ` +
        'or a comma-separated list of them.',
    );
  }
  const found = new Set<string>();
  const problems: string[] = [];
  for (const entry of entries) {
    const abs = path.resolve(entry);
    const s = statOrNull(abs);
    if (s?.isDirectory()) {
      for (const f of filesInDirectory(abs)) found.add(f);
    } else if (s !== null) {
      found.add(abs);
    } else if (isDynamicPattern(entry)) {
      const matches = expandGlob(abs);
      if (matches.length === 0) problems.push(`Input pattern matches 0 files: ${abs}`);
      for (const f of matches) found.add(f);
    } else {
      problems.push(`Input path does not exist: ${abs}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `${problems.join('\n')}\n(Check the spelling and the working directory ${process.cwd()}; ` +
        'relative paths and globs are resolved against it.)',
    );
  }
  return [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Promise form of {@link listInputFilesSync}, with the same result and errors (as a rejection).
 *
 * The listing itself still runs synchronously: one implementation keeps the two entry points from
 * drifting apart, and driver-side listing is short next to the job it feeds.
 *
 * @example
 * ```ts
 * const files = await listInputFiles('data/*.txt,extra/notes.txt');
 * // ['/home/me/data/a.txt', '/home/me/data/b.txt', '/home/me/extra/notes.txt']
 * ```
 */
export async function listInputFiles(spec: string): Promise<string[]> {
  return listInputFilesSync(spec);
}
