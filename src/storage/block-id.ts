/** Block ids (Spark's names): cached RDD partitions and shuffle outputs, as strings usable in maps and file names. */

export type RddBlockId = `rdd_${number}_${number}`;
export type ShuffleBlockId = `shuffle_${number}_${number}_${number}`;

export const rddBlockId = (rddId: number, partition: number): RddBlockId => `rdd_${rddId}_${partition}`;
export const shuffleBlockId = (shuffleId: number, mapId: number, reduceId: number): ShuffleBlockId => `shuffle_${shuffleId}_${mapId}_${reduceId}`;
