/** The UI's and the event log's options, resolved with the rest of the context's options. */

import { InvalidOptionError } from '../core/errors.js';

export interface UiOptions {
  /** First port tried; the next free one is taken when it is in use. Default 4040; 0 picks any free port. */
  readonly port?: number;
  /**
   * Interface to bind. Default 127.0.0.1 (reachable from this machine only). Bound to every interface ('0.0.0.0' or
   * '::'), the printed URL and `sc.uiWebUrl()` name the machine (`os.hostname()`, as Spark prints the driver's host),
   * or 127.0.0.1 when that name does not resolve.
   *
   * @example
   * ```ts
   * const sc = new Context({ master: 'local[2]', ui: { host: '0.0.0.0' } });
   * console.log(await sc.uiWebUrl()); // http://build-box:4040 (os.hostname())
   * ```
   */
  readonly host?: string;
  /** Show kill links for running jobs (Spark's spark.ui.killEnabled). Default false. */
  readonly killEnabled?: boolean;
  /** Finished jobs and stages the UI keeps (Spark's retainedJobs / retainedStages). Default 1000 each. */
  readonly retainedJobs?: number;
  readonly retainedStages?: number;
}

export interface EventLogOptions {
  /** Folder of the event logs, one `{appId}.jsonl` per application. */
  readonly dir: string;
}

export interface ResolvedUiOptions {
  readonly port: number;
  readonly host: string;
  readonly killEnabled: boolean;
  readonly retainedJobs: number;
  readonly retainedStages: number;
}

export function resolveUiOptions(ui: UiOptions | false | undefined): ResolvedUiOptions | false {
  if (ui === false) return false;
  const o = ui ?? {};
  const port = o.port ?? 4040;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidOptionError(`ui.port must be an integer in 0..65535, got ${port}`);
  for (const k of ['retainedJobs', 'retainedStages'] as const) {
    const v = o[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new InvalidOptionError(`ui.${k} must be a positive integer, got ${v}`);
  }
  return {
    port,
    host: o.host ?? '127.0.0.1',
    killEnabled: o.killEnabled ?? false,
    retainedJobs: o.retainedJobs ?? 1000,
    retainedStages: o.retainedStages ?? 1000,
  };
}

/** `eventLog: { dir }`, else the KINDLING_EVENT_LOG_DIR environment variable, else no log. */
export function resolveEventLog(log: EventLogOptions | false | undefined): { readonly dir: string } | false {
  if (log === false) return false;
  if (log !== undefined) {
    if (typeof log.dir !== 'string' || log.dir === '') throw new InvalidOptionError('eventLog.dir must be a folder path');
    return { dir: log.dir };
  }
  const env = process.env.KINDLING_EVENT_LOG_DIR;
  return env !== undefined && env !== '' ? { dir: env } : false;
}
