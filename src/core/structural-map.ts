/**
 * The `Map` that countByKey, countByValue and collectAsMap return: a real `Map` whose keys compare
 * structurally, so results keyed by arrays or objects can be looked up with an equal new key.
 */
import { keyId, type KeyId } from './keys.js';

/**
 * A `Map` whose keys compare structurally (the engine's key equality, as in shuffles): `[1, 'a']` finds the
 * entry of another `[1, 'a']`, `{ a: 1, b: 2 }` that of `{ b: 2, a: 1 }`. The first-seen key object stands for
 * its group in iteration. It is a plain `Map` instance (its constructor is `Map`, so `instanceof`, spreading and
 * deep-equality checks in test libraries treat it as one) whose `get`, `has`, `set` and `delete` are replaced
 * by structural ones; number keys stay numbers and string keys strings (`1` and `'1'` are different keys).
 *
 * @example
 * ```ts
 * const m = structuralMap([[[1, 'a'], 2]]);
 * m.get([1, 'a']); // 2
 * m instanceof Map; // true
 * ```
 */
export function structuralMap<K, V>(entries?: Iterable<readonly [K, V]> | null): Map<K, V> {
  const map = new Map<K, V>();
  // Keys whose id is the key itself (primitives: numbers, most strings) are their own Map keys, which compare as
  // the engine's keys do; only the others (structural keys, NaN, strings that start with U+0001) are found
  // through their id. A collect of a million string keys so makes one Map entry per key instead of two.
  const ids = new Map<KeyId, K>();
  const plain = {
    get: Map.prototype.get,
    set: Map.prototype.set,
    has: Map.prototype.has,
    delete: Map.prototype.delete,
    clear: Map.prototype.clear,
  };
  const methods = {
    get(key: K): V | undefined {
      const id = keyId(key);
      if (id === key) return plain.get.call(map, key) as V | undefined;
      return ids.has(id) ? plain.get.call(map, ids.get(id) as K) : undefined;
    },
    has(key: K): boolean {
      const id = keyId(key);
      return id === key ? plain.has.call(map, key) : ids.has(id);
    },
    set(key: K, value: V): Map<K, V> {
      const id = keyId(key);
      if (id === key) return plain.set.call(map, key, value) as Map<K, V>;
      if (ids.has(id)) return plain.set.call(map, ids.get(id) as K, value) as Map<K, V>;
      ids.set(id, key);
      return plain.set.call(map, key, value) as Map<K, V>;
    },
    delete(key: K): boolean {
      const id = keyId(key);
      if (id === key) return plain.delete.call(map, key);
      if (!ids.has(id)) return false;
      const stored = ids.get(id) as K;
      ids.delete(id);
      return plain.delete.call(map, stored);
    },
    clear(): void {
      ids.clear();
      plain.clear.call(map);
    },
  };
  // Non-enumerable own properties: the object still compares and prints as a Map.
  for (const [name, fn] of Object.entries(methods))
    Object.defineProperty(map, name, { value: fn, enumerable: false, writable: true, configurable: true });
  if (entries != null) for (const [k, v] of entries) map.set(k, v);
  return map;
}
