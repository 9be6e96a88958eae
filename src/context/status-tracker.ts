/**
 * Spark's SparkStatusTracker: the jobs and stages of a context and their progress, read from the DAG scheduler when
 * asked. Running ones are read live; ended ones are the scheduler's small record of each (the latest 1,000 jobs and
 * 1,000 stages, as Spark's status store retains them), so a job's outcome can be asked after its action settled.
 */
import type { ActiveJobStatus, ActiveStageStatus, EndedJobStatus, EndedStageStatus } from '../scheduler/dag-scheduler.js';

/** A job's progress and status (Spark's SparkJobInfo): `RUNNING`, then `SUCCEEDED` or `FAILED` (a cancelled job failed). */
export type JobStatusInfo = ActiveJobStatus & { readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' };
/**
 * A stage's current attempt and its task counts (Spark's SparkStageInfo), with its status: `ACTIVE` while it runs,
 * then `COMPLETE` or `FAILED` with the counts it ended with.
 */
export type StageStatusInfo = ActiveStageStatus & { readonly status: 'ACTIVE' | 'COMPLETE' | 'FAILED' };

interface StatusSource {
  status(): { jobs: ActiveJobStatus[]; stages: ActiveStageStatus[] };
  ended(): { readonly jobs: ReadonlyMap<number, EndedJobStatus>; readonly stages: ReadonlyMap<number, EndedStageStatus> };
}

/**
 * Low-level progress of jobs, for programs that report it themselves.
 *
 * @example
 * ```ts
 * const tracker = sc.statusTracker();
 * for (const id of tracker.getActiveStageIds()) {
 *   const s = tracker.getStageInfo(id)!;
 *   console.log(`stage ${id}: ${s.numCompletedTasks}/${s.numTasks}`);
 * }
 * sc.setJobGroup('nightly', 'the nightly load');
 * await rdd.count();
 * for (const id of tracker.getJobIdsForGroup('nightly')) console.log(id, tracker.getJobInfo(id)?.status); // 7 SUCCEEDED
 * ```
 */
export class StatusTracker {
  constructor(private readonly source: StatusSource) {}

  /** Ids of the jobs running now. */
  getActiveJobIds(): number[] {
    return this.source.status().jobs.map((j) => j.jobId);
  }

  /** Ids of the stages whose tasks run now. */
  getActiveStageIds(): number[] {
    return this.source.status().stages.map((s) => s.stageId);
  }

  /**
   * Every known job of a job group (set with setJobGroup), running, succeeded or failed, in id order, as Spark's;
   * `null` names the jobs run outside any group. Ended jobs are known while retained (the latest 1,000).
   */
  getJobIdsForGroup(group: string | null): number[] {
    const wanted = group ?? undefined;
    const ids = new Set<number>();
    for (const j of this.source.ended().jobs.values()) if (j.jobGroup === wanted) ids.add(j.jobId);
    for (const j of this.source.status().jobs) if (j.jobGroup === wanted) ids.add(j.jobId);
    return [...ids].sort((a, b) => a - b);
  }

  /** A job's progress and status, running or ended (while retained); undefined for a job not known. */
  getJobInfo(jobId: number): JobStatusInfo | undefined {
    const j = this.source.status().jobs.find((x) => x.jobId === jobId);
    if (j !== undefined) return { ...j, status: 'RUNNING' };
    const ended = this.source.ended().jobs.get(jobId);
    return ended === undefined ? undefined : { ...ended };
  }

  /**
   * A stage's current attempt and its task counts: live while it runs, else those its last attempt ended with
   * (while retained); undefined for a stage that never ran (skipped, or not yet submitted).
   */
  getStageInfo(stageId: number): StageStatusInfo | undefined {
    const s = this.source.status().stages.find((x) => x.stageId === stageId);
    if (s !== undefined) return { ...s, status: 'ACTIVE' };
    const ended = this.source.ended().stages.get(stageId);
    return ended === undefined ? undefined : { ...ended };
  }
}
