/** Block ids (Spark's names) of cached RDD partitions, as strings usable in maps and file names. */

export type RddBlockId = `rdd_${number}_${number}`;

export const rddBlockId = (rddId: number, partition: number): RddBlockId => `rdd_${rddId}_${partition}`;
