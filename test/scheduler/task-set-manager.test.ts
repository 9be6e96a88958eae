import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PendingTasks } from '../../src/scheduler/task-set-manager.js';

describe('PendingTasks', () => {
  it('keeps the order an array would, through takes anywhere and retries put back at the head (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        // `run`: that many launches of the head in a row (a stage without preferences), past the 1,024 the deque drops
        // from its front at once.
        fc.array(fc.oneof(fc.record({ take: fc.nat() }), fc.record({ retry: fc.nat() }), fc.record({ run: fc.integer({ min: 1, max: 1500 }) })), {
          maxLength: 200,
        }),
        (n, ops) => {
          const pending = new PendingTasks(n);
          const model = Array.from({ length: n }, (_, i) => i);
          let takes = 0;
          for (const op of ops) {
            if ('take' in op) {
              if (model.length === 0) continue;
              // Mostly near the head, as placement takes them; sometimes anywhere.
              const at = op.take % 3 === 0 ? op.take % model.length : op.take % Math.min(4, model.length);
              expect(pending.removeAt(at)).toBe(model.splice(at, 1)[0]);
              takes++;
            } else if ('run' in op) {
              for (let k = 0; k < op.run && model.length > 0; k++, takes++) expect(pending.removeAt(0)).toBe(model.shift());
            } else if (takes > 0) {
              const index = n + op.retry;
              pending.unshift(index);
              model.unshift(index);
            }
            expect(pending.length).toBe(model.length);
          }
          expect(pending.toArray()).toEqual(model);
          for (let i = 0; i < model.length; i++) expect(pending.at(i)).toBe(model[i]);
        },
      ),
      { numRuns: 50 },
    );
  });
});
