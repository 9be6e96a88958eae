/**
 * Node.js keeps a timer's delay in a signed 32-bit integer: a longer one (`setTimeout(f, 2 ** 31)`, a "never" such
 * as `fetchTimeoutMs: 1e12`) is not refused but set to 1 ms, with only a warning, so it fires at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
