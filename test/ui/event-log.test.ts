/**
 * The event log's lines: the hand-written serialization of task events is the same JSON as JSON.stringify, and
 * a line cut short by a crash is skipped when the log is read.
 */
import { describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventLogWriter, readEventLog, serializeEvent } from '../../src/ui/event-log.js';
import type { AppEvent } from '../../src/ui/app-events.js';

const metrics = {
  durationMs: 1.2345678,
  runMs: 0.5,
  compileMs: 0.25,
  gcMs: 0,
  fetchWaitMs: 3,
  inputRecords: 10,
  inputBytes: 99,
  shuffleReadRecords: 7,
  shuffleReadBytes: 700,
  shuffleWriteRecords: 5,
  shuffleWriteBytes: 500,
  spillCount: 1,
  resultRecords: 2,
  resultBytes: 64,
};
const samples: AppEvent[] = [
  {
    type: 'taskStart',
    stageId: 3,
    stageAttempt: 1,
    partition: 17,
    attempt: 2,
    workerIndex: 1,
    executorId: String(1),
    speculative: true,
    time: 1700000000123,
  },
  {
    type: 'taskEnd',
    stageId: 3,
    stageAttempt: 0,
    partition: 1,
    attempt: 0,
    workerIndex: 0,
    executorId: String(0),
    speculative: false,
    result: 'success',
    durationMs: 4,
    metrics,
    locality: 'NO_PREF',
    time: 1,
  },
  {
    type: 'taskEnd',
    stageId: 3,
    stageAttempt: 0,
    partition: 1,
    attempt: 0,
    workerIndex: 0,
    executorId: String(0),
    speculative: false,
    result: 'success',
    durationMs: 4,
    metrics: { ...metrics, keySample: ['"hot"', 'a\\b\n"c"'] },
    locality: 'ANY',
    time: 1,
  },
  {
    type: 'taskEnd',
    stageId: 3,
    stageAttempt: 0,
    partition: 1,
    attempt: 0,
    workerIndex: 0,
    executorId: String(0),
    speculative: false,
    result: 'failed',
    error: 'TypeError: "x" is\nnot a function \u2028 \\',
    durationMs: 4,
    locality: 'PROCESS_LOCAL',
    time: 1,
  },
  { type: 'jobEnd', jobId: 1, time: 2, result: 'failed', error: 'boom' },
];

describe('event log', () => {
  it('writes task events as the same JSON as JSON.stringify', () => {
    for (const e of samples) expect(JSON.parse(serializeEvent(e))).toEqual(JSON.parse(JSON.stringify(e)));
  });

  it('reads back every event written but task starts (implied by task ends), skipping a last line cut short by a crash', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kindling-evlog-'));
    try {
      const log = new EventLogWriter(dir, 'app-1');
      for (const e of samples) log.write(e);
      log.close();
      appendFileSync(log.file, '{"type":"taskStart","stageId":');
      expect(readEventLog(log.file)).toEqual(samples.filter((e) => e.type !== 'taskStart').map((e) => JSON.parse(JSON.stringify(e))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
