/** The task message of a one-partition range job, as the driver would send it: for the executor's and pool's specs. */
import type { TaskMessage } from '../../src/exec/protocol.js';

/**
 * A result task over range(0, end) in one partition; `stageId` defaults to the task id (each task a stage of its
 * own, since a stage's RDDs never change).
 */
export function rangeTask(
  taskId: number,
  end: number,
  { resultFn = { kind: 'collect' }, stageId = taskId, epoch = 0 }: { resultFn?: TaskMessage['resultFn']; stageId?: number; epoch?: number } = {},
): TaskMessage {
  return {
    taskId,
    jobId: 0,
    stageId,
    stageAttempt: 0,
    partition: 0,
    attempt: 0,
    epoch,
    stageKey: `${stageId}.0`,
    rdds: [
      {
        id: 1,
        kind: 'RangeRDD',
        label: 'range',
        numPartitions: 1,
        storageLevel: 'NONE',
        parents: [],
        args: { start: 0, step: 1, count: end, numSlices: 1 },
      },
    ],
    finalRddId: 1,
    payloads: [],
    shuffleReads: [],
    resultFn,
    broadcasts: [],
    accumulators: [],
  };
}
