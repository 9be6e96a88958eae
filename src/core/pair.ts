/** A key-value record: the shape every pair operation and every shuffle works on. */
export type Pair = [unknown, unknown];
