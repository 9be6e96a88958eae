/**
 * Compile-time specification of the RDD wire contract (src/rdd/wire.ts): a wire names one of the registered RDD
 * kinds and carries exactly that kind's arguments.
 */
import type { RddWire } from '../../src/rdd/wire.js';

const base = { id: 1, label: 'x', numPartitions: 2, storageLevel: 'NONE', parents: [] } as const;

export const good: RddWire = { ...base, kind: 'CoalescedRDD', args: { numPartitions: 2 } };
export const leaf: RddWire = { ...base, kind: 'EmptyRDD', args: null };

// @ts-expect-error a kind outside the contract cannot be sent
export const unknownKind: RddWire = { ...base, kind: 'NoSuchRDD', args: null };

// @ts-expect-error the arguments of another kind
export const wrongArgs: RddWire = { ...base, kind: 'CoalescedRDD', args: { dir: '/tmp/x' } };

// @ts-expect-error a kind's arguments cannot be left out
export const missingArgs: RddWire = { ...base, kind: 'ReliableCheckpointRDD' };
