/** A reduce task could not get a map output: the scheduler regenerates it (Spark's FetchFailed). */
export class FetchFailedError extends Error {
  override name = 'FetchFailedError';
  constructor(
    readonly shuffleId: number,
    readonly mapId: number,
    readonly workerIndex: number,
    message: string,
    /** The incarnation of that worker that failed to serve it (-1: unknown). */
    readonly epoch = -1,
  ) {
    super(message);
  }
}
