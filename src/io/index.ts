/**
 * File input and output: listing and splitting input, reading lines inside workers, whole-file reads,
 * and the output commit protocol for `saveAsTextFile`.
 */

export {
  inputSpecRoots,
  isHiddenFileName,
  listInputFiles,
  listInputFilesSync,
  localPathOf,
  splitInputSpec,
  type InputListingOptions,
} from './input-files.js';
export {
  computeTextSplits,
  computeTextSplitsSync,
  DEFAULT_BLOCK_SIZE,
  groupFilesIntoPartitions,
  isCompressedPath,
  type TextSplit,
  type TextSplitOptions,
} from './text-splits.js';
export {
  DEFAULT_READ_CHUNK_BYTES,
  firstLineNumber,
  forEachSplitLine,
  forEachSplitLineBatch,
  inputReadError,
  readSplitLines,
  readWholeTextFile,
  type LineReadOptions,
} from './line-reader.js';
export { formatTextLine, partFileName } from './text-format.js';
export {
  abortJob,
  abortLiveJobsSync,
  abortTask,
  commitJob,
  commitTask,
  partFileNameFor,
  readObjectFile,
  setupJob,
  taskAttemptPath,
  writeTaskOutput,
  type JobCommitResult,
  type JobOutputPlan,
  type OutputFormat,
  type SetupJobOptions,
  type TaskCommitResult,
  type TaskOutput,
} from './output-committer.js';
export { parseCsv, CsvLineParser, checkCsvDelimiter, csvModeOf, type CsvMode } from './csv.js';
export {
  checkReadableCompression,
  codecForPath,
  decompressForPath,
  outputCodecOf,
  OUTPUT_CODEC_NAMES,
  type OutputCodecName,
  type ReadableCodec,
} from './codecs.js';
export { checkRecordLength, computeRecordSplitsSync, forEachRecord, type RecordSplit } from './record-splits.js';
