/** The one place that imports comlink, so the ESM path quirk (see types/comlink-esm.d.ts) is handled once. */
export { wrap, expose, transfer } from 'comlink/dist/esm/comlink.mjs';
export type { Remote, Endpoint } from 'comlink';
export { default as nodeEndpoint } from 'comlink/dist/esm/node-adapter.mjs';
