/**
 * Resolving an input spec (`textFile("logs/*.gz,extra.txt")`) into the concrete files a job reads.
 *
 * Follows Hadoop's FileInputFormat listing rules, because users coming from Spark expect them:
 * directories contribute their direct files only, and a subdirectory fails the listing ("Not a file",
 * as Hadoop's getSplits) instead of being dropped without a word, unless the caller asks for recursion
 * (Hadoop's `mapreduce.input.fileinputformat.input.dir.recursive`). Names starting with `_` or `.` are
 * hidden in both modes, files and directories alike, so a previous job's `_SUCCESS` marker, a
 * `_temporary` folder or an editor's `.swp` file never becomes input. Runs on the driver only; workers
 * receive the resulting absolute paths.
 */

import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

type Tinyglobby = typeof import('tinyglobby');
let tinyglobby: Tinyglobby | undefined;
/** tinyglobby, loaded when a path is first listed (on the driver): worker threads import this module but never list. */
const globber = (): Tinyglobby => (tinyglobby ??= createRequire(import.meta.url)('tinyglobby') as Tinyglobby);
import { InputPathError } from '../core/errors.js';

/** Options for {@link listInputFilesSync} and {@link listInputFiles}. */
export interface InputListingOptions {
  /**
   * Read the files in subdirectories of input directories too, at any depth (hidden ones still skipped).
   * Without it a subdirectory is an error, as in Hadoop.
   */
  readonly recursive?: boolean;
}

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
 * The local path a Spark-style path names: `file:///data/x` and `file:/data/x` (Hadoop's form) are `/data/x`, as
 * Spark reads them; another scheme (`hdfs://`, `s3a://`, ...) is refused, naming it, instead of being taken for a
 * relative path. As in Hadoop, nothing is percent-decoded. `what` names the path in the error, `error` makes it.
 *
 * @example
 * ```ts
 * localPathOf('file:///data/logs/*.gz', 'textFile'); // '/data/logs/*.gz'
 * localPathOf('hdfs://nn/data', 'textFile');        // throws InputPathError
 * ```
 */
export function localPathOf(
  p: string,
  what: string,
  error: (message: string, path: string) => Error = (message, path) => new InputPathError(message, path),
): string {
  // file:///x and file://localhost/x, or Hadoop's file:/x; file://otherhost/x is a remote file, refused below.
  const file = /^file:(?:\/\/(?:localhost)?(?=\/)|(?=\/[^/]))/i.exec(p);
  if (file !== null) return p.slice(file[0].length);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(p);
  if (scheme !== null && scheme[1]!.toLowerCase() === 'file') {
    throw error(`${what}: ${p} names a file on another host; a file:// URI must be file:///path (or file://localhost/path).`, p);
  }
  if (scheme !== null) {
    throw error(
      `${what}: ${p} names a ${scheme[1]}:// filesystem; kindling uses local paths (a shared filesystem on a cluster) and file:// URIs. ` +
        'Copy or mount the data, and pass its local path.',
      p,
    );
  }
  return p;
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

/**
 * Why a listed name has no status: a symbolic link whose target is missing (an unmounted data set, a moved file), or a
 * file removed between the listing and its stat. Either way files the caller asked for are not there, so the listing
 * fails naming it, as Hadoop's listStatus does (FileNotFoundException), rather than reading the input without it.
 */
function vanished(f: string): string {
  try {
    return `${f} is a symbolic link to ${readlinkSync(f)}, which does not exist`;
  } catch {
    return `${f} was listed but no longer exists (removed while the input was listed)`;
  }
}

function isDanglingLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function withPath(err: unknown, p: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
  const message = err instanceof Error ? err.message : String(err);
  return new InputPathError(`Cannot read input path ${p} (${code}): ${message}. Check its permissions.`, p, {
    cause: err,
  });
}

/**
 * Regular files inside `dir`, hidden names skipped. A visible subdirectory is recursed into when
 * `recursive`, otherwise recorded in `notFiles` so the caller can fail naming it.
 * `seen` holds the directories (device and inode) already listed: a symlink cycle ends there.
 */
function filesInDirectory(dir: string, recursive: boolean, notFiles: string[], gone: string[], seen = new Set<string>()): string[] {
  const files: string[] = [];
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    const id = statOrNull(current);
    if (id !== null) {
      const key = `${id.dev}:${id.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    let names: string[];
    try {
      names = readdirSync(current);
    } catch (err) {
      throw withPath(err, current);
    }
    for (const n of names) {
      if (isHiddenFileName(n)) continue;
      const f = path.join(current, n);
      const s = statOrNull(f);
      if (s === null) gone.push(vanished(f));
      else if (s.isFile()) files.push(f);
      else if (s.isDirectory()) {
        if (recursive) pending.push(f);
        else notFiles.push(f);
      }
    }
  }
  return files;
}

/**
 * Whether an input entry is a pattern by Hadoop's GlobPattern: it holds an unescaped `*`, `?`, `[` or `{`. Other
 * characters are themselves, `(`, `)`, `|`, `+`, `@` and `!` included (a folder named `data (1)`), where tinyglobby
 * would read extglobs and groups in them.
 */
function isGlobPattern(entry: string): boolean {
  for (let i = 0; i < entry.length; i++) {
    const c = entry[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[' || c === '{') return true;
  }
  return false;
}

/**
 * A Hadoop glob in tinyglobby's (picomatch's) syntax: the characters Hadoop takes literally and picomatch does not
 * (`(a|b)` groups, `@(`, `+(`, `!(` extglobs, a leading `!` negating the whole pattern) escaped with a backslash,
 * except `!` opening a set (`[!a]`, Hadoop's negated class, which picomatch reads alike).
 *
 * @example
 * ```ts
 * picomatchGlob('run (copy)/*.txt'); // 'run \\(copy\\)/*.txt'
 * ```
 */
function picomatchGlob(glob: string): string {
  let out = '';
  let inSet = false;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\' && i + 1 < glob.length) {
      out += c + glob[++i];
      continue;
    }
    if (c === '[') inSet = true;
    else if (c === ']') inSet = false;
    else if (!inSet && '()|+@!'.includes(c)) out += '\\';
    out += c;
  }
  return out;
}

/**
 * The glob's literal leading directory, so tinyglobby crawls only below it instead of from the cwd
 * (which it would otherwise have to relate every absolute result back to). Cut before the first wildcard or
 * escape, as {@link isGlobPattern} reads them.
 */
function splitGlobBase(absPattern: string): { base: string; rest: string } {
  const firstMagic = absPattern.search(/[*?[\]{}\\]/);
  const cut = absPattern.lastIndexOf('/', firstMagic < 0 ? absPattern.length : firstMagic);
  if (cut <= 0) return { base: '/', rest: absPattern.slice(1) };
  return { base: absPattern.slice(0, cut), rest: absPattern.slice(cut + 1) };
}

/**
 * Whether a glob's match passes through a hidden folder that `**` crawled into. Hadoop's globs have no `**`: a
 * wildcard there matches hidden names too (its hidden-name filter looks at the last name only), which `*` keeps
 * below. `**` reads like a recursive listing, which skips hidden folders, so it does too, except one the pattern
 * names literally (`logs/**\/_archive/*.log`).
 */
function throughHiddenFolder(relative: string, literalSegments: ReadonlySet<string>): boolean {
  const segments = relative.split('/');
  for (let i = 0; i < segments.length - 1; i++) if (isHiddenFileName(segments[i]!) && !literalSegments.has(segments[i]!)) return true;
  return false;
}

function expandGlob(absPattern: string, recursive: boolean, notFiles: string[], gone: string[]): string[] {
  const { base, rest } = splitGlobBase(absPattern);
  if (!statOrNull(base)?.isDirectory()) return [];
  const globstar = rest.split('/').includes('**');
  const matches = globber().globSync(picomatchGlob(rest), {
    cwd: base,
    absolute: false,
    onlyFiles: false,
    expandDirectories: false,
    dot: true,
  });
  const literalSegments = new Set(rest.split('/').filter((s) => !isGlobPattern(s)));
  const cleaned = matches
    .map((m) => (m.length > 1 && m.endsWith('/') ? m.slice(0, -1) : m))
    .filter((m) => !isHiddenFileName(path.basename(m)) && !(globstar && throughHiddenFolder(m, literalSegments)))
    .map((m) => path.join(base, m));
  // Stat every match before crawling any matched directory, so an unreadable match fails the listing
  // before time is spent reading directories whose files would be discarded anyway.
  const stats = cleaned.map(statOrNull);
  const files: string[] = [];
  cleaned.forEach((m, i) => {
    const s = stats[i];
    // A directory matched by a glob contributes its files, like Hadoop's globStatus + listStatus.
    if (s === null || s === undefined) gone.push(vanished(m));
    else if (s.isDirectory()) files.push(...filesInDirectory(m, recursive, notFiles, gone));
    else if (s.isFile()) files.push(m);
  });
  return files;
}

/**
 * One entry of an input spec as a path: taken literally when it exists; otherwise, when its only glob
 * characters are escaped with a backslash (`x\[1\].txt`), the path with the escapes removed, as Hadoop's
 * GlobPattern reads it (a pattern without an unescaped wildcard names exactly one path).
 */
function resolveEntry(named: string): { entry: string; abs: string; stat: Stats | null } {
  const entry = localPathOf(named, 'input path');
  const abs = path.resolve(entry);
  const stat = statOrNull(abs);
  if (stat !== null || !/\\[*?[\]{}()!,\\]/.test(entry) || isGlobPattern(entry)) return { entry, abs, stat };
  const literal = path.resolve(entry.replace(/\\(.)/g, '$1'));
  return { entry, abs: literal, stat: statOrNull(literal) };
}

/**
 * Lists the files an input spec names, as Hadoop's FileInputFormat would, blocking until done.
 *
 * Synchronous because the driver resolves a `textFile` lazily inside synchronous RDD calls such as
 * `getNumPartitions()`, as Spark does. `spec` is a file, a directory (its direct files, or with
 * `{ recursive: true }` every file below it), a glob (`data/*.txt`, `logs/**\/2024-*.log`; a matched
 * directory counts as a directory), or a comma-separated list of these. Names starting with `_` or `.`
 * found in directories or matched by a glob's last part are skipped, and so are hidden directories a listing or
 * `**` would walk into; a wildcard before the last part matches hidden folders too, as in Hadoop
 * (`data/*\/part-0` reads `data/_tmp/part-0`); a file named explicitly is always kept. A path that exists is taken literally even if it contains glob characters. An
 * existing but empty directory yields no files without error.
 *
 * @returns absolute paths, sorted by code unit and deduplicated.
 * @throws when any entry does not exist, a glob matches nothing, or a listed name has no file behind it (a symbolic link
 * whose target is missing; the message names every such entry),
 * or an {@link InputPathError} "Not a file" naming a visible subdirectory of an input directory when
 * `recursive` is not set.
 *
 * @example
 * ```ts
 * const files = listInputFilesSync('data/*.txt,extra/notes.txt');
 * // ['/home/me/data/a.txt', '/home/me/data/b.txt', '/home/me/extra/notes.txt']
 * listInputFilesSync('logs', { recursive: true }); // also logs/2024/jan/01.log
 * ```
 */
export function listInputFilesSync(spec: string, options: InputListingOptions = {}): string[] {
  const recursive = options.recursive ?? false;
  const entries = splitInputSpec(spec);
  if (entries.length === 0) {
    throw new InputPathError(
      `Input path is empty: ${JSON.stringify(spec)}. Pass a file, a directory, a glob such as data/*.txt, ` + 'or a comma-separated list of them.',
      spec,
    );
  }
  const found = new Set<string>();
  const problems: string[] = [];
  const notFiles: string[] = [];
  const gone: string[] = [];
  for (const named of entries) {
    const { entry, abs, stat: s } = resolveEntry(named);
    if (s?.isDirectory()) {
      for (const f of filesInDirectory(abs, recursive, notFiles, gone)) found.add(f);
    } else if (s !== null) {
      found.add(abs);
    } else if (isGlobPattern(entry)) {
      const matches = expandGlob(abs, recursive, notFiles, gone);
      if (matches.length === 0) problems.push(`Input pattern matches 0 files: ${abs}`);
      for (const f of matches) found.add(f);
    } else {
      problems.push(`Input path does not exist: ${abs}${isDanglingLink(abs) ? ` (${vanished(abs)})` : ''}`);
    }
  }
  problems.push(...gone.map((g) => `Input file missing: ${g}`));
  if (problems.length > 0) {
    throw new InputPathError(
      `${problems.join('\n')}\n(Check the spelling and the working directory ${process.cwd()}; ` +
        'relative paths and globs are resolved against it.)',
      spec,
    );
  }
  if (notFiles.length > 0) {
    const dirs = [...new Set(notFiles)].sort();
    const more = dirs.length > 1 ? ` (and ${dirs.length - 1} more: ${dirs.slice(1, 4).join(', ')}${dirs.length > 4 ? ', ...' : ''})` : '';
    throw new InputPathError(
      `Not a file: ${dirs[0]}${more}. It is a subdirectory of an input directory, and input directories are ` +
        'read without their subdirectories (as in Hadoop). Pass { recursive: true } to read the files below it ' +
        'too, or name the files you want with a glob or a list.',
      dirs[0]!,
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
export async function listInputFiles(spec: string, options: InputListingOptions = {}): Promise<string[]> {
  return listInputFilesSync(spec, options);
}

/**
 * Where each entry of an input spec reads from, without listing anything: a path named literally, or
 * the literal leading directory of a glob (the pattern's matches are somewhere below it). Used to keep
 * a save from writing over its own input.
 *
 * @example
 * ```ts
 * inputSpecRoots('a.txt,logs/*.log'); // [{ path: '/cwd/a.txt', glob: false }, { path: '/cwd/logs', glob: true }]
 * ```
 */
export function inputSpecRoots(spec: string): Array<{ path: string; glob: boolean }> {
  return splitInputSpec(spec).map((named) => {
    const { entry, abs, stat } = resolveEntry(named);
    if (stat === null && isGlobPattern(entry)) return { path: splitGlobBase(abs).base, glob: true };
    return { path: abs, glob: false };
  });
}
