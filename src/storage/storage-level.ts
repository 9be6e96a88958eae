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

/** Looks a level up by name (levels travel to workers by name). */
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
