/**
 * A `Map` over structural keys (see `keys.ts`), used by combiners, `countByKey`, `collectAsMap` and the
 * shuffle's aggregation buffers.
 */

import { keyId, type KeyId } from './keys.js';

/**
 * A map whose keys compare structurally: `[1, 'a']` and another `[1, 'a']` are the same key, as are
 * `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }`, `NaN` and `NaN`, `-0` and `0`.
 *
 * With structural keys the first-seen key object stands for its group: later `set`s of an equal key
 * replace the value but iteration still yields the key object that created the entry (until it is
 * deleted). Primitive keys are stored directly in one internal `Map`, so for string and number keys this
 * costs about as much as a plain `Map`; a `-0` key comes back as `0`, as it would from a `Map`.
 * Iteration follows first insertion order.
 *
 * @example
 * ```ts
 * const counts = new KeyMap<[string, number], number>();
 * const first: [string, number] = ['a', 1];
 * counts.set(first, 1);
 * counts.update(['a', 1], () => 1, (n) => n + 1);
 * counts.get(['a', 1]);             // 2
 * [...counts.keys()][0] === first;  // true
 * ```
 */
export class KeyMap<K, V> implements Iterable<[K, V]> {
  private readonly byId = new Map<KeyId, V>();
  // Only for keys whose id differs from the key itself (composites and escaped strings): maps the id back
  // to the first-seen key. Empty, and never consulted, while all keys are ordinary primitives.
  private readonly firstKeys = new Map<string, K>();

  /** @param entries initial entries, inserted in order as by {@link KeyMap.set}. */
  constructor(entries?: Iterable<readonly [K, V]>) {
    if (entries !== undefined) for (const [k, v] of entries) this.set(k, v);
  }

  /** Number of distinct keys. */
  get size(): number {
    return this.byId.size;
  }

  /** The value for a key structurally equal to `key`, or `undefined`. */
  get(key: K): V | undefined {
    return this.byId.get(keyId(key));
  }

  /** Whether a key structurally equal to `key` is present. */
  has(key: K): boolean {
    return this.byId.has(keyId(key));
  }

  /** Set the value for `key`'s group; the group keeps its first-seen key object. */
  set(key: K, value: V): this {
    const id = keyId(key);
    if (typeof id === 'string' && id !== key && !this.byId.has(id)) this.firstKeys.set(id, key);
    this.byId.set(id, value);
    return this;
  }

  /** Remove `key`'s group; returns whether it was present. A later `set` starts a new group. */
  delete(key: K): boolean {
    const id = keyId(key);
    if (typeof id === 'string' && id !== key) this.firstKeys.delete(id);
    return this.byId.delete(id);
  }

  /** Remove every entry. */
  clear(): void {
    this.byId.clear();
    this.firstKeys.clear();
  }

  /**
   * Read-modify-write with a single key-id computation: stores `onMissing()` if `key` is absent, else
   * `onPresent(current)`; returns the stored value.
   *
   * @example
   * ```ts
   * const m = new KeyMap<string, number>();
   * for (const w of ['a', 'b', 'a']) m.update(w, () => 1, (n) => n + 1);
   * m.get('a'); // 2
   * ```
   */
  update(key: K, onMissing: () => V, onPresent: (current: V) => V): V {
    const id = keyId(key);
    const byId = this.byId;
    const current = byId.get(id);
    let next: V;
    if (current !== undefined || byId.has(id)) {
      next = onPresent(current as V);
    } else {
      next = onMissing();
      if (typeof id === 'string' && id !== key) this.firstKeys.set(id, key);
    }
    byId.set(id, next);
    return next;
  }

  /**
   * Spark's combineByKey step for one record: `create(value)` for a new key, else
   * `merge(combiner, value)`. Unlike {@link KeyMap.update} it needs no per-record closures, so a
   * shuffle's aggregation loop can pass the same two functions for every record.
   *
   * @example
   * ```ts
   * const sums = new KeyMap<string, number>();
   * const create = (v: number) => v;
   * const merge = (c: number, v: number) => c + v;
   * for (const [k, v] of [['a', 1], ['a', 2]] as const) sums.combine(k, v, create, merge);
   * sums.get('a'); // 3
   * ```
   */
  combine<X>(key: K, value: X, create: (value: X) => V, merge: (combiner: V, value: X) => V): V {
    const id = keyId(key);
    const byId = this.byId;
    const current = byId.get(id);
    let next: V;
    if (current !== undefined || byId.has(id)) {
      next = merge(current as V, value);
    } else {
      next = create(value);
      if (typeof id === 'string' && id !== key) this.firstKeys.set(id, key);
    }
    byId.set(id, next);
    return next;
  }

  private keyOf(id: KeyId): K {
    if (typeof id === 'string' && this.firstKeys.size !== 0) {
      const k = this.firstKeys.get(id);
      // Keys kept in firstKeys are never undefined: they are composites or non-empty strings.
      if (k !== undefined) return k;
    }
    return id as K;
  }

  /** `[firstSeenKey, value]` pairs in insertion order. */
  *entries(): IterableIterator<[K, V]> {
    for (const [id, v] of this.byId) yield [this.keyOf(id), v];
  }

  /** The first-seen key of each group, in insertion order. */
  *keys(): IterableIterator<K> {
    for (const id of this.byId.keys()) yield this.keyOf(id);
  }

  /** Values in insertion order. */
  values(): IterableIterator<V> {
    return this.byId.values();
  }

  /** Call `fn(value, firstSeenKey)` for each entry in insertion order, without allocating pairs. */
  forEach(fn: (value: V, key: K) => void): void {
    this.byId.forEach((v, id) => {
      fn(v, this.keyOf(id));
    });
  }

  /** Same as {@link KeyMap.entries}. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
