/** Block ids (Spark's names) of cached RDD partitions, as strings usable in maps and file names. */

export type RddBlockId = `rdd_${number}_${number}` | `rdd_${number}_${number}_g${number}`;

/**
 * The id of a partition's block. A generation above 0 (the RDD's cached partitions were rolled back: see
 * `RDD.cacheGeneration`) is part of the name, so a reader of one generation can never name a block of another.
 */
export const rddBlockId = (rddId: number, partition: number, generation = 0): RddBlockId =>
  generation === 0 ? `rdd_${rddId}_${partition}` : `rdd_${rddId}_${partition}_g${generation}`;
