/**
 * Spark's SparkStatusTracker: the active jobs and stages of a context and their progress, read from the
 * schedulers when asked (nothing is recorded when nobody asks).
 */
import type { ActiveJobStatus, ActiveStageStatus } from '../scheduler/dag-scheduler.js';

export type JobStatusInfo = ActiveJobStatus & { readonly status: 'RUNNING' };
export type StageStatusInfo = ActiveStageStatus;

/**
 * Low-level progress of running jobs, for programs that report it themselves.
 *
 * @example
 * ```ts
 * const tracker = sc.statusTracker();
 * for (const id of tracker.getActiveStageIds()) {
 *   const s = tracker.getStageInfo(id)!;
 *   console.log(`stage ${id}: ${s.numCompletedTasks}/${s.numTasks}`);
 * }
 * ```
 */
export class StatusTracker {
  constructor(private readonly status: () => { jobs: ActiveJobStatus[]; stages: ActiveStageStatus[] }) {}

  /** Ids of the jobs running now. */
  getActiveJobIds(): number[] {
    return this.status().jobs.map((j) => j.jobId);
  }

  /** Ids of the stages whose tasks run now. */
  getActiveStageIds(): number[] {
    return this.status().stages.map((s) => s.stageId);
  }

  /** Active jobs of a job group (set with setJobGroup). */
  getJobIdsForGroup(group: string): number[] {
    return this.status()
      .jobs.filter((j) => j.jobGroup === group)
      .map((j) => j.jobId);
  }

  /** An active job, or undefined once it ended. */
  getJobInfo(jobId: number): JobStatusInfo | undefined {
    const j = this.status().jobs.find((x) => x.jobId === jobId);
    return j === undefined ? undefined : { ...j, status: 'RUNNING' };
  }

  /** A running stage's current attempt and its task counts, or undefined when it does not run. */
  getStageInfo(stageId: number): StageStatusInfo | undefined {
    return this.status().stages.find((s) => s.stageId === stageId);
  }
}
