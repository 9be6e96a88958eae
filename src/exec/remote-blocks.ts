/**
 * Remote cached-block reads (Spark's `BlockManager.getRemoteValues`): a task whose partition (or a narrow ancestor's)
 * is cached on other workers only reads it from one of them instead of computing it again. The driver lists such
 * blocks in the task (`TaskMessage.remoteBlocks`, with the shuffle reads below each); the worker fetches them over the
 * channel its shuffle fetches use, before the (synchronous) computation. A block that cannot be had (its holder died,
 * does not answer in time, or evicted it) is computed again from the input below it, as before.
 */
import { ColumnBlock, fromBlockWire, toBlockWire, type CachedPartition } from '../storage/columnar-block.js';
import type { WorkerBlockStore } from '../storage/block-manager.js';
import type { ShuffleReadWire } from '../shuffle/wire.js';
import { unboxDeep } from '../util/unbox.js';
import type { RemoteBlockWire } from './protocol.js';
import type { ServedBlock, ShuffleFetcher } from './shuffle-fetcher.js';

/** A block read from a peer, as the task reads it, and its size as the holder stored it. */
export interface RemoteBlock {
  readonly values: CachedPartition;
  readonly bytes: number;
}

/** What the task got of its remote blocks. */
export interface RemoteBlocks {
  /** By `rddId/partition/generation`. */
  readonly blocks: ReadonlyMap<string, RemoteBlock>;
  /** Shuffle reads below the blocks that could not be had: the task reads them and computes those partitions. */
  readonly fallbackReads: readonly ShuffleReadWire[];
}

export const remoteBlockKey = (rddId: number, partition: number, generation = 0): string => `${rddId}/${partition}/${generation}`;

/** A task without remote blocks (most). */
export const NO_REMOTE_BLOCKS: RemoteBlocks = { blocks: new Map(), fallbackReads: [] };

/** Fetches the task's remote blocks (all at once: each from its first holder that still has it). */
export async function fetchRemoteBlocks(
  wanted: readonly RemoteBlockWire[] | undefined,
  fetcher: ShuffleFetcher,
  local: WorkerBlockStore,
): Promise<RemoteBlocks> {
  if (wanted === undefined || wanted.length === 0) return NO_REMOTE_BLOCKS;
  const blocks = new Map<string, RemoteBlock>();
  const fallbackReads: ShuffleReadWire[] = [];
  const served = await Promise.all(
    wanted.map((b) =>
      // Cached here since the driver looked (a task queued before this one computed it): read as any local block.
      local.sizeOf(b.rddId, b.partition, b.generation) > 0 ? null : fetcher.fetchBlock(b.workers, b.rddId, b.partition, b.generation),
    ),
  );
  for (const [i, b] of wanted.entries()) {
    const s = served[i];
    if (s === null) continue;
    if (s === undefined) {
      fallbackReads.push(...b.fallbackReads);
      continue;
    }
    const values = fromBlockWire(s.block);
    // The clone boxed the numbers of plain arrays (see unboxDeep); columns arrive as they were.
    blocks.set(remoteBlockKey(b.rddId, b.partition, b.generation), {
      values: values instanceof ColumnBlock ? values : (unboxDeep(values) as CachedPartition),
      bytes: s.bytes,
    });
  }
  return { blocks, fallbackReads };
}

/** What this worker answers a peer asking for a cached partition: undefined when it does not hold it (any more). */
export function serveBlock(store: WorkerBlockStore, rddId: number, partition: number, generation: number): ServedBlock | undefined {
  const values = store.get(rddId, partition, generation);
  if (values === undefined) return undefined;
  return { block: toBlockWire(values), bytes: store.sizeOf(rddId, partition, generation) };
}
