/** What the UI's HTTP specs share: the repository root (for `bin/kindling.js` and child scripts) and a checked GET. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Json = Record<string, any>;

/** GETs `url`, expects 200, and gives the JSON body. */
export async function get(url: string): Promise<any> {
  const r = await fetch(url);
  expect(r.status, url).toBe(200);
  return r.json();
}
