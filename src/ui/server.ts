/**
 * The UI's HTTP server, on Node's own `http` (no framework: a dozen routes do not need one, and it keeps the
 * UI's start-up cost to what Node already has loaded). It serves the pages (one HTML shell and a script that
 * renders each page from the REST API), the REST API, dagre for the DAG drawing from node_modules, and a
 * server-sent-events stream telling browsers when an application changed.
 *
 * The server must never be why a program keeps running: the listening socket and every connection are unref'd.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Socket } from 'node:net';
import { CLIENT_CSS, CLIENT_JS, pageHtml } from './client.js';
import { STREAMING_CSS, STREAMING_JS } from './streaming-client.js';
import { UiListener } from './listen.js';

export interface UiServerOptions {
  readonly host: string;
  readonly port: number;
  /** Ports tried after `port` when it is taken (Spark's spark.port.maxRetries, here 100). */
  readonly maxRetries?: number;
  /** Live: one application at `/jobs/` etc. History: every application under `/history/{appId}/`. */
  readonly mode: 'live' | 'history';
  /** Shows kill links (Spark's spark.ui.killEnabled); `onKillJob` does the killing. */
  readonly killEnabled?: boolean;
  /** False when no such job runs. */
  readonly onKillJob?: (jobId: number) => boolean;
  /** How often browsers are told of changes, in ms. Default 250. */
  readonly pushIntervalMs?: number;
}

/** A REST answer, its body the JSON text sent. */
export interface RestAnswer {
  readonly status: number;
  readonly body: string;
}

/**
 * The status stores behind a server, seen through what it asks of them: the live UI's are on the UI's thread (the
 * answers come back as messages), the history server's in its own thread (rest.ts `localStores`).
 */
export interface UiStores {
  /** The answer at `/api/v1/{path}`; `query` is the URL's search string. */
  rest(path: string, query: string): RestAnswer | Promise<RestAnswer>;
  /** The version of the application `app` (or of the only one), which changes whenever its store does; 0 if none. */
  version(app: string): number | Promise<number>;
}

const PAGES = ['/jobs/', '/jobs/job/', '/stages/', '/stages/stage/', '/storage/', '/storage/rdd/', '/executors/', '/environment/', '/streaming/'];

let dagreSource: string | undefined;
function dagre(): string {
  if (dagreSource === undefined) {
    const require = createRequire(import.meta.url);
    const dir = path.dirname(require.resolve('@dagrejs/dagre/package.json'));
    dagreSource = readFileSync(path.join(dir, 'dist', 'dagre.min.js'), 'utf8');
  }
  return dagreSource;
}

/**
 * A started UI server.
 *
 * @example
 * ```ts
 * const server = await UiServer.start(new Map([[store.app!.appId, store]]), { host: '127.0.0.1', port: 4040, mode: 'live' });
 * console.log(server.url); // http://127.0.0.1:4040
 * await server.close();
 * ```
 */
export class UiServer {
  readonly #server: http.Server;
  readonly #stores: UiStores;
  readonly #options: UiServerOptions;
  readonly #streams = new Set<{ res: http.ServerResponse; app: string; version: number }>();
  #timer: NodeJS.Timeout | undefined;
  /** A push waits for its versions (asked of another thread): the next tick does not start another meanwhile. */
  #pushing = false;
  #listener: UiListener | undefined;
  url = '';

  private constructor(stores: UiStores, options: UiServerOptions) {
    this.#stores = stores;
    this.#options = options;
    const failed = (req: http.IncomingMessage, res: http.ServerResponse, e: unknown): void => {
      // The message names what failed (a history folder gone, a log unreadable); the stack is the server's business.
      console.warn(`kindling UI: ${req.method} ${req.url} failed: ${(e as Error).message ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`kindling UI: ${(e as Error).message ?? String(e)}`);
    };
    this.#server = http.createServer((req, res) => {
      try {
        const answering = this.#handle(req, res);
        answering?.catch((e: unknown) => failed(req, res, e));
      } catch (e) {
        failed(req, res, e);
      }
    });
    this.#server.on('connection', (socket) => socket.unref());
    this.#server.keepAliveTimeout = 2000;
  }

  /** Listens on `port`, or the next free one (up to `maxRetries` further). */
  static async start(stores: UiStores, options: UiServerOptions): Promise<UiServer> {
    const s = new UiServer(stores, options);
    const listener = new UiListener(options, (socket) => s.accept(socket));
    s.#listener = listener;
    try {
      s.url = await listener.url;
    } catch (e) {
      await listener.close();
      throw e;
    }
    return s;
  }

  /**
   * A server that does not listen: the connections it serves come from {@link UiServer.accept} (the live UI's
   * listener, which was up before this module loaded). `url` is where that listener listens.
   */
  static serving(stores: UiStores, options: UiServerOptions, url: string): UiServer {
    const s = new UiServer(stores, options);
    s.url = url;
    return s;
  }

  /** Serves a connection accepted elsewhere (a UiListener's). */
  accept(socket: Socket): void {
    if (!socket.destroyed) this.#server.emit('connection', socket);
  }

  /** Ends every stream and connection; resolves when the server is closed. */
  close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const s of this.#streams) s.res.end();
    this.#streams.clear();
    // The connections are the listener's: it ends them (an HTTP server that never listened does not track them).
    return this.#listener?.close() ?? Promise.resolve();
  }

  /** Answers `req`; a promise when the answer comes from another thread. */
  #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> | undefined {
    if (isLoopback(this.#options.host) && !isLoopbackHost(req.headers.host)) {
      // DNS rebinding: another site's name made to resolve to 127.0.0.1 would let its page read the API and, with
      // killEnabled, kill jobs, its Origin matching its Host. A UI bound to loopback answers loopback names only.
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      return void res.end(
        `kindling UI: this UI is bound to ${this.#options.host} and answers only to localhost or a loopback address, not to Host '${req.headers.host ?? ''}'`,
      );
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname;
    if (p.startsWith('/api/v1/')) {
      if (req.method !== 'GET') return void res.writeHead(405).end();
      const r = this.#stores.rest(p.slice('/api/v1/'.length), url.search);
      if (!(r instanceof Promise)) return void sendRest(res, r);
      return r.then((a) => sendRest(res, a));
    }
    if (p === '/kindling/stream') {
      this.#stream(url.searchParams.get('app') ?? '', res);
      return;
    }
    if (p === '/kindling/kill' && req.method === 'POST') {
      if (!this.#options.killEnabled || this.#options.onKillJob === undefined)
        return void res.writeHead(403).end('kill is disabled (ui.killEnabled)');
      // Another site's page must not kill jobs through the user's browser: browsers name the page's origin.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host ?? ''}`) return void res.writeHead(403).end('kill from another origin');
      // Only a running job's id kills (a 204 for 'abc' or a finished job would tell the user something was killed).
      const id = url.searchParams.get('id') ?? '';
      if (!/^\d+$/.test(id)) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`kill: not a job id: '${id}'`);
      if (!this.#options.onKillJob(Number(id))) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`kill: no running job ${id}`);
      return void res.writeHead(204).end();
    }
    if (p === '/static/kindling-ui.js') {
      send(res, 'text/javascript', CLIENT_JS);
      return;
    }
    if (p === '/static/kindling-streaming.js') {
      send(res, 'text/javascript', STREAMING_JS);
      return;
    }
    if (p === '/static/kindling-ui.css') {
      send(res, 'text/css', CLIENT_CSS + STREAMING_CSS);
      return;
    }
    if (p === '/static/dagre.min.js') {
      send(res, 'text/javascript', dagre(), true);
      return;
    }
    if (this.#options.mode === 'live') {
      if (p === '/') {
        redirect(res, '/jobs/');
        return;
      }
      if (PAGES.includes(p)) {
        send(res, 'text/html', pageHtml({ killEnabled: this.#options.killEnabled === true }));
        return;
      }
    } else {
      if (p === '/') {
        send(res, 'text/html', pageHtml({ killEnabled: false, historyIndex: true }));
        return;
      }
      const m = /^\/history\/([^/]+)(\/.*)$/.exec(p);
      if (m !== null) {
        if (m[2] === '/') {
          redirect(res, `/history/${m[1]}/jobs/`);
          return;
        }
        if (PAGES.includes(m[2]!)) {
          send(res, 'text/html', pageHtml({ killEnabled: false }));
          return;
        }
      }
      if (/^\/history\/[^/]+$/.test(p)) {
        redirect(res, `${p}/jobs/`);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${p}`);
  }

  #stream(app: string, res: http.ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const s = { res, app, version: -1 };
    this.#streams.add(s);
    res.on('close', () => this.#streams.delete(s));
    void this.#push();
    // One timer for every browser, only while some browser listens; unref'd like the sockets.
    this.#timer ??= setInterval(() => void this.#push(), this.#options.pushIntervalMs ?? 250);
    this.#timer.unref();
  }

  async #push(): Promise<void> {
    if (this.#streams.size === 0) {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#pushing) return;
    this.#pushing = true;
    const versions = new Map<string, number>();
    try {
      for (const s of this.#streams) if (!versions.has(s.app)) versions.set(s.app, await this.#stores.version(s.app));
    } catch {
      // The history folder went away, or the UI's thread is gone (the pages' own requests say so): a timer's throw
      // would end the server.
      return;
    } finally {
      this.#pushing = false;
    }
    for (const s of this.#streams) {
      const version = versions.get(s.app);
      if (version === undefined || version === s.version) continue;
      // A browser that does not read (stopped, or stalled) must not make the driver hold an ever longer queue:
      // while its socket's buffer is full nothing more is queued, and it is told the version current when it drains.
      if (s.res.writableNeedDrain) continue;
      s.version = version;
      s.res.write(`data: ${version}\n\n`);
    }
  }
}

function sendRest(res: http.ServerResponse, r: RestAnswer): void {
  res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(r.body);
}

function send(res: http.ServerResponse, type: string, body: string, cache = false): void {
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': cache ? 'max-age=3600' : 'no-store' });
  res.end(body);
}

function redirect(res: http.ServerResponse, to: string): void {
  res.writeHead(302, { location: to }).end();
}

/** 127.0.0.0/8, ::1 and localhost: the names only this machine can reach. */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** Whether a request's Host header (`name[:port]`, `[v6][:port]`) names this machine by a loopback name. */
function isLoopbackHost(header: string | undefined): boolean {
  if (header === undefined) return true; // HTTP/1.0 without Host: no browser sends that
  const m = /^(\[[^\]]*\]|[^:]*)(:\d+)?$/.exec(header.trim());
  return m !== null && isLoopback(m[1]!);
}
