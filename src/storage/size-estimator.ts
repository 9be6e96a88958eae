/**
 * Rough in-memory size of a partition's values, for the cache's byte budget. It measures a sample of up to 64
 * elements deeply and scales by the count: exact sizes are unknowable from JS, and a consistent estimate is what
 * the LRU needs.
 */
const SAMPLE = 64;

export function estimateSize(values: readonly unknown[]): number {
  const n = values.length;
  if (n === 0) return 16;
  const step = Math.max(1, Math.floor(n / SAMPLE));
  let sampled = 0;
  let bytes = 0;
  for (let i = 0; i < n && sampled < SAMPLE; i += step, sampled++) bytes += sizeOf(values[i], 0);
  return 16 + 8 * n + Math.ceil((bytes / sampled) * n);
}

/** sizeOf of a string of `length` chars, at any depth (a column of strings' bytes say the lengths without the strings). */
export function stringSize(length: number): number {
  return 12 + 2 * length;
}

/** One value's estimate (`depth` levels already walked); exported for tests. */
export function sizeOf(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'number':
      return 8;
    case 'boolean':
      return 4;
    case 'string':
      return stringSize(v.length);
    case 'bigint':
      return 16;
    case 'object': {
      if (v === null) return 4;
      if (depth > 4) return 64;
      if (ArrayBuffer.isView(v)) return 64 + v.byteLength;
      if (Array.isArray(v)) {
        const s = 16 + 8 * v.length;
        const m = Math.min(v.length, 32);
        // Read a copy made by a builtin, never the user's array: an element load here has seen arrays of every
        // kind, and V8's optimized code makes such a load monomorphic by converting its receiver in place (an
        // array of unboxed doubles, a cached point, into one of boxed numbers), which then spreads to the
        // user's own functions. The copy is converted instead and dropped.
        const items = v.slice(0, m);
        let inner = 0;
        for (let i = 0; i < m; i++) inner += sizeOf(items[i], depth + 1);
        return s + (m > 0 ? (inner / m) * v.length : 0);
      }
      if (v instanceof Map || v instanceof Set) return 64 + 48 * v.size;
      let s = 24;
      for (const k in v as Record<string, unknown>) s += 8 + sizeOf((v as Record<string, unknown>)[k], depth + 1);
      return s;
    }
    default:
      return 8;
  }
}
