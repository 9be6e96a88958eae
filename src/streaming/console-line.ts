import type { BatchCompletedEvent } from '../scheduler/events.js';

/**
 * One console line per completed batch (shown on a terminal when the context's `progress` is on), e.g.
 * `batch 12:00:05.000 #42 | 48,213 rec 48.2k/s | sched 3 ms | proc 412/1000 ms | total 415 ms | dropped 0 | rate<=61.0k/s`.
 *
 * @example
 * ```ts
 * sc.events.on('batchCompleted', (e) => process.stderr.write(`${formatBatchLine(e, 1000)}\n`));
 * ```
 */
export function formatBatchLine(e: BatchCompletedEvent, batchIntervalMs: number): string {
  const rate = (e.records / batchIntervalMs) * 1000;
  const dropped = e.sources.reduce((n, s) => n + s.dropped, 0);
  const limits = e.sources.flatMap((s) => (s.rateLimit === undefined ? [] : [s.rateLimit]));
  const parts = [
    `batch ${new Date(e.batch.ms).toISOString().slice(11, 23)} #${e.batch.id}`,
    `${e.records.toLocaleString('en')} rec ${compact(rate)}/s`,
    `sched ${Math.round(e.schedulingDelayMs)} ms`,
    `proc ${Math.round(e.processingMs)}/${batchIntervalMs} ms`,
    `total ${Math.round(e.totalDelayMs)} ms`,
    `dropped ${dropped.toLocaleString('en')}`,
  ];
  const lags = e.sources.flatMap((s) => (s.lag === undefined ? [] : [s.lag]));
  if (lags.length > 0) parts.push(`lag ${lags.reduce((a, b) => a + b, 0).toLocaleString('en')}`);
  if (limits.length > 0) parts.push(`rate<=${compact(limits.reduce((a, b) => a + b, 0))}/s`);
  if (e.error !== undefined) parts.push(`FAILED: ${e.error.split('\n')[0]}`);
  return parts.join(' | ');
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}
