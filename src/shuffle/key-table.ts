/**
 * A hash table from keys to groups, for the by-key loops of the shuffle (combine, cogroup), holding the keys
 * that a `Map` handles slowly: structural keys (arrays, plain objects, Dates) and short strings. Numbers, long
 * strings and the other primitives stay in a `Map`, which is as fast as it gets for them.
 *
 * A `Map` can only take a structural key through a canonical string id (see keyId), and building and inserting
 * hundreds of thousands of fresh strings costs several times more than hashing the key with hashKey and
 * comparing candidates with keysEqual, which allocates nothing. Words freshly cut from text (word count) are
 * also cheaper here (the combine measured 1.2x faster); from about 9 characters on, V8's native string hash
 * beats hashKey's murmur3 written in JavaScript, so longer strings stay in the `Map`.
 */
import { hashKey, keysEqual } from '../core/keys.js';

const INITIAL_SLOTS = 64;

/** Open addressing with linear probing; the load factor stays at or below 1/2. */
export class KeyTable<G> {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #hashes = new Int32Array(INITIAL_SLOTS / 2);
  readonly #keys: unknown[] = [];
  readonly #groups: G[] = [];
  // Where the last lookup that missed stopped, so that adding its key neither hashes nor probes again.
  #missHash = 0;
  #missSlot = -1;

  /**
   * The group of the key structurally equal to `key`, or undefined. After a miss, {@link addAfterMiss} adds the
   * same key's group.
   *
   * @throws TypeError for keys that keys.ts does not support (as hashKey does).
   */
  get(key: unknown): G | undefined {
    const h = hashKey(key);
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        this.#missHash = h;
        this.#missSlot = i;
        return undefined;
      }
      if (this.#hashes[s - 1] === h) {
        const k = this.#keys[s - 1];
        if (k === key || keysEqual(k, key)) return this.#groups[s - 1];
      }
    }
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The groups in the order their keys were added (the table's own array: read it, do not change it). */
  groups(): G[] {
    return this.#groups;
  }

  /** Adds `group` for `key`, which the immediately preceding {@link get} did not find. */
  addAfterMiss(key: unknown, group: G): void {
    const e = this.#keys.length;
    this.#keys.push(key);
    this.#groups.push(group);
    if (e === this.#hashes.length) {
      const grown = new Int32Array(e * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[e] = this.#missHash;
    this.#slots[this.#missSlot] = e + 1;
    this.#missSlot = -1;
    if (2 * (e + 1) > this.#slots.length) this.#grow();
  }

  #grow(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    const hashes = this.#hashes;
    for (let e = 0; e < this.#keys.length; e++) {
      let i = hashes[e]! & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = e + 1;
    }
    this.#slots = slots;
  }
}

/**
 * A hash table from int32 keys to groups (open addressing, linear probing, load at most 1/2): the keys live in an
 * Int32Array next to their slots, so a lookup touches no object until it finds its group. `-0` is stored as 0.
 */
export class IntTable<G> {
  /** 0 for an empty slot, else 1 + the entry's index. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #keys = new Int32Array(INITIAL_SLOTS);
  /**
   * 32 - log2(slots): a key's first slot is the top bits of the key times 2^32/phi (Fibonacci hashing), so keys that
   * are multiples of a power of two spread as well as consecutive ones.
   */
  #shift = 32 - Math.log2(INITIAL_SLOTS);
  readonly #groups: G[] = [];
  #missSlot = -1;

  get size(): number {
    return this.#groups.length;
  }

  /** The group of `key` (an int32), or undefined; after a miss, {@link addAfterMiss} adds that key's group. */
  get(key: number): G | undefined {
    const slots = this.#slots;
    const keys = this.#keys;
    const mask = slots.length - 1;
    for (let i = Math.imul(key, 0x9e3779b1) >>> this.#shift; ; i = (i + 1) & mask) {
      const s = slots[i]!;
      if (s === 0) {
        this.#missSlot = i;
        return undefined;
      }
      if (keys[i] === key) return this.#groups[s - 1];
    }
  }

  /** The groups in the order their keys were added (the table's own array: read it, do not change it). */
  groups(): G[] {
    return this.#groups;
  }

  /** Adds `group` for `key`, which the immediately preceding {@link get} did not find. */
  addAfterMiss(group: G, key: number): void {
    const e = this.#groups.length;
    this.#groups.push(group);
    this.#slots[this.#missSlot] = e + 1;
    this.#keys[this.#missSlot] = key;
    this.#missSlot = -1;
    if (2 * (e + 1) > this.#slots.length) this.#grow();
  }

  #grow(): void {
    const oldSlots = this.#slots;
    const oldKeys = this.#keys;
    const slots = new Int32Array(oldSlots.length * 2);
    const keys = new Int32Array(oldSlots.length * 2);
    const mask = slots.length - 1;
    const shift = --this.#shift;
    for (let j = 0; j < oldSlots.length; j++) {
      if (oldSlots[j] === 0) continue;
      let i = Math.imul(oldKeys[j]!, 0x9e3779b1) >>> shift;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = oldSlots[j]!;
      keys[i] = oldKeys[j]!;
    }
    this.#slots = slots;
    this.#keys = keys;
  }
}

/** Longest string kept in a {@link KeyTable}. */
const SHORT_STRING = 8;

/**
 * Whether a key belongs in a {@link KeyTable} rather than a `Map`: short strings, objects, and the kinds that
 * must be rejected (hashKey throws for them, as keyId would). Equal keys always give the same answer.
 */
export function inKeyTable(key: unknown): boolean {
  const t = typeof key;
  if (t === 'string') return (key as string).length <= SHORT_STRING;
  return (t === 'object' && key !== null) || t === 'function' || t === 'symbol';
}
