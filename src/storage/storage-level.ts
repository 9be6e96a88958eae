import { InvalidArgumentError } from '../core/errors.js';

/**
 * Storage levels (Spark's names). The block manager decides from a level whether a partition is kept in memory,
 * written to disk when memory is short, or written to disk only.
 */
export interface StorageLevel {
  readonly name: 'NONE' | 'MEMORY_ONLY' | 'MEMORY_AND_DISK' | 'DISK_ONLY';
  readonly useMemory: boolean;
  readonly useDisk: boolean;
}

const level = (name: StorageLevel['name'], useMemory: boolean, useDisk: boolean): StorageLevel => Object.freeze({ name, useMemory, useDisk });

/**
 * The storage levels accepted by `persist()`.
 *
 * @example
 * ```ts
 * const links = sc.textFile('graph.txt').map(parse).persist(StorageLevel.MEMORY_AND_DISK);
 * ```
 */
export const StorageLevel = Object.freeze({
  NONE: level('NONE', false, false),
  MEMORY_ONLY: level('MEMORY_ONLY', true, false),
  MEMORY_AND_DISK: level('MEMORY_AND_DISK', true, true),
  DISK_ONLY: level('DISK_ONLY', false, true),
});

/** Spark's levels that kindling does not offer, and the one it offers instead (for the error's hint). */
const SPARK_ONLY: Record<string, StorageLevel['name']> = {
  MEMORY_ONLY_SER: 'MEMORY_ONLY',
  MEMORY_ONLY_2: 'MEMORY_ONLY',
  MEMORY_ONLY_SER_2: 'MEMORY_ONLY',
  MEMORY_AND_DISK_SER: 'MEMORY_AND_DISK',
  MEMORY_AND_DISK_2: 'MEMORY_AND_DISK',
  MEMORY_AND_DISK_SER_2: 'MEMORY_AND_DISK',
  DISK_ONLY_2: 'DISK_ONLY',
  DISK_ONLY_3: 'DISK_ONLY',
  OFF_HEAP: 'MEMORY_ONLY',
};

/**
 * The level `persist()` was given, as one of `StorageLevel`'s own objects: one of them, or its name (a JavaScript
 * caller has no type check, and `persist('MEMORY_ONLY')` otherwise stored a string that every task then failed
 * on). Anything else is refused here, at the call, with what is offered.
 *
 * @example
 * ```ts
 * storageLevelOf('DISK_ONLY') === StorageLevel.DISK_ONLY; // true
 * ```
 */
export function storageLevelOf(given: unknown): StorageLevel {
  const name = typeof given === 'string' ? given : (given as { name?: unknown } | null | undefined)?.name;
  const known = typeof name === 'string' && Object.hasOwn(StorageLevel, name) ? StorageLevel[name as StorageLevel['name']] : undefined;
  // An object must be the level itself, or carry the same meaning: a copy (say, deserialised) is taken by its name.
  if (known !== undefined && (typeof given === 'string' || sameMeaning(given as StorageLevel, known))) return known;
  const shown = typeof given === 'string' ? `'${given}'` : typeof name === 'string' ? `a level named '${name}'` : String(given);
  const instead = typeof name === 'string' ? SPARK_ONLY[name] : undefined;
  const hint = instead === undefined ? '' : ` (Spark's ${name} has no kindling counterpart: partitions are kept as objects, once; use ${instead})`;
  throw new InvalidArgumentError(
    `persist: unknown storage level ${shown}${hint}; kindling offers StorageLevel.${Object.keys(StorageLevel).join(', StorageLevel.')}`,
  );
}

function sameMeaning(a: StorageLevel, b: StorageLevel): boolean {
  return a.useMemory === b.useMemory && a.useDisk === b.useDisk;
}

/** Spark's description of a level, as `toDebugString()` prints it. */
export function describeStorageLevel(l: StorageLevel): string {
  switch (l.name) {
    case 'NONE':
      return '';
    case 'MEMORY_ONLY':
      return 'Memory Deserialized 1x Replicated';
    case 'MEMORY_AND_DISK':
      return 'Disk Memory Deserialized 1x Replicated';
    case 'DISK_ONLY':
      return 'Disk Serialized 1x Replicated';
    default: {
      const never: never = l.name;
      return never;
    }
  }
}
