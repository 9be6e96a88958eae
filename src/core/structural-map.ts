/**
 * The `Map` that countByKey, countByValue and collectAsMap return: a real `Map` whose keys compare
 * structurally, so results keyed by arrays or objects can be looked up with an equal new key.
 */
import { keyId, type KeyId } from './keys.js';

/**
 * A `Map` whose keys compare structurally (the engine's key equality, as in shuffles): `[1, 'a']` finds the
 * entry of another `[1, 'a']`, `{ a: 1, b: 2 }` that of `{ b: 2, a: 1 }`. The first-seen key object stands for
 * its group in iteration. Everything else is `Map`: `instanceof Map`, `size`, iteration order, `forEach`,
 * spreading; number keys stay numbers and string keys strings (`1` and `'1'` are different keys).
 *
 * @example
 * ```ts
 * const counts = await sc.parallelize([[1, 'a'], [1, 'a'], [2, 'b']]).countByValue();
 * counts.get([1, 'a']); // 2
 * counts instanceof Map; // true
 * ```
 */
export class StructuralMap<K, V> extends Map<K, V> {
  // Created lazily: Map's constructor would call `set` before subclass fields exist.
  #index: Map<KeyId, K> | undefined;

  constructor(entries?: Iterable<readonly [K, V]> | null) {
    super();
    if (entries != null) for (const [k, v] of entries) this.set(k, v);
  }

  get #ids(): Map<KeyId, K> {
    this.#index ??= new Map();
    return this.#index;
  }

  override get(key: K): V | undefined {
    const id = keyId(key);
    return this.#ids.has(id) ? super.get(this.#ids.get(id) as K) : undefined;
  }

  override has(key: K): boolean {
    return this.#ids.has(keyId(key));
  }

  override set(key: K, value: V): this {
    const id = keyId(key);
    const ids = this.#ids;
    if (ids.has(id)) return super.set(ids.get(id) as K, value);
    ids.set(id, key);
    return super.set(key, value);
  }

  override delete(key: K): boolean {
    const id = keyId(key);
    const ids = this.#ids;
    if (!ids.has(id)) return false;
    const stored = ids.get(id) as K;
    ids.delete(id);
    return super.delete(stored);
  }

  override clear(): void {
    this.#index?.clear();
    super.clear();
  }
}
