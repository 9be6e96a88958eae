import { compileFunction, importModuleFrom, shipFunction, type ClosureRuntime, type ShippedFunction } from '../../src/closure/index.js';

/** A runtime standing in for a worker: broadcasts and accumulators come from plain maps. */
export function fakeRuntime(
  broadcasts: Record<number, unknown> = {},
  accumulators: Record<number, unknown> = {},
): ClosureRuntime & { imports: string[] } {
  const imports: string[] = [];
  return {
    imports,
    broadcastValue: (id) => broadcasts[id],
    accumulator: (id) => accumulators[id],
    importModule: (specifier, cwd) => {
      imports.push(specifier);
      return importModuleFrom(specifier, cwd);
    },
  };
}

/**
 * Ships `fn` as the driver would, passes the wire form through structured cloning (what
 * postMessage does), and compiles it as a worker would.
 */
export async function roundTrip<F extends Function>(fn: F, runtime: ClosureRuntime = fakeRuntime()): Promise<{ compiled: F; wire: ShippedFunction }> {
  const wire = structuredClone(shipFunction(fn, 'test function'));
  return { compiled: (await compileFunction(wire, runtime)) as unknown as F, wire };
}

/** A function whose source text is exactly `src`, whatever the test runner does to this file. */
export function fromSource<F = any>(src: string): F {
  return new Function(`return (${src}\n)`)() as F;
}
