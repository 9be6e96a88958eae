/** The module customization hook of esm-entry-hook.ts (it runs on Node's loader thread). */
type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: unknown) => Promise<Resolved>;

const entry = process.env.KINDLING_ESM_ENTRY;

export async function resolve(specifier: string, context: unknown, next: NextResolve): Promise<Resolved> {
  const resolved = await next(specifier, context);
  return resolved.url === entry ? { ...resolved, format: 'module' } : resolved;
}
