/**
 * The UI's listening socket, on `node:net` alone: what a context with the UI on starts eagerly. The HTTP server, the
 * status store, REST and the pages are modules a script nobody looks at never needs, so the socket only accepts
 * connections and hands each to whoever asked for them (the HTTP server, once its modules loaded).
 *
 * Never the reason a program keeps running: the listening socket and every connection are unref'd.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { UiError } from './errors.js';

export interface ListenOptions {
  readonly host: string;
  /** First port tried; 0 picks any free port. */
  readonly port: number;
  /** Ports tried after `port` when it is taken (Spark's spark.port.maxRetries, here 100). */
  readonly maxRetries?: number;
}

/**
 * Listens on `port`, or the next free one, and passes every accepted connection to `onSocket`.
 *
 * @example
 * ```ts
 * const l = new UiListener({ host: '127.0.0.1', port: 4040 }, (socket) => httpServer.emit('connection', socket));
 * console.log(await l.url); // http://127.0.0.1:4040
 * await l.close();
 * ```
 */
export class UiListener {
  /** The address once listening; rejects with a UiError naming the ports tried. */
  readonly url: Promise<string>;
  readonly #server: net.Server;
  /** Open connections: an HTTP server that never listened itself does not track them, and close() must end them. */
  readonly #sockets = new Set<net.Socket>();
  #closed: Promise<void> | undefined;

  constructor(options: ListenOptions, onSocket: (socket: net.Socket) => void) {
    this.#server = net.createServer((socket) => {
      socket.unref();
      if (this.#closed !== undefined) return void socket.destroy();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      onSocket(socket);
    });
    this.#server.unref();
    this.url = this.#listen(options);
    // A caller that never asks for the url must not see an unhandled rejection (startUi warns once itself).
    this.url.catch(() => undefined);
  }

  async #listen(o: ListenOptions): Promise<string> {
    const retries = o.maxRetries ?? 100;
    for (let port = o.port, tries = 0; ; port++, tries++) {
      try {
        await this.#listenOn(port, o.host);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' && o.port !== 0 && tries >= retries)
          throw new UiError(`The UI could not listen on ${o.host}: ports ${o.port}-${port} are all in use`, { cause: e });
        if (code !== 'EADDRINUSE' || o.port === 0)
          throw new UiError(`The UI could not listen on ${o.host}:${port}: ${(e as Error).message}`, { cause: e });
      }
    }
    const addr = this.#server.address() as net.AddressInfo;
    return `http://${await urlHost(addr)}:${addr.port}`;
  }

  #listenOn(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#closed !== undefined) return reject(new Error('closed before it listened'));
      const onError = (e: Error): void => {
        this.#server.off('listening', onListening);
        reject(e);
      };
      const onListening = (): void => {
        this.#server.off('error', onError);
        resolve();
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen(port, host);
    });
  }

  /** Stops listening and ends every connection; resolves when closed. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise((resolve) => {
      for (const s of this.#sockets) s.destroy();
      this.#sockets.clear();
      // Not listening (it failed, or close came before the bind): close's callback gets an error, closed all the same.
      this.#server.close(() => resolve());
    });
    return this.#closed;
  }
}

/** How long the machine's name may take to resolve before the URL falls back to loopback. */
const HOSTNAME_LOOKUP_MS = 1000;

/**
 * The host of the UI's URL for the address it listens on. A wildcard address (0.0.0.0, ::) is not one a browser can
 * open: the URL names the machine instead, as Spark prints the driver's host name (`os.hostname()`), or 127.0.0.1
 * when that name does not resolve (within a second), since every interface includes loopback.
 *
 * @example
 * ```ts
 * await urlHost({ address: '0.0.0.0', family: 'IPv4' }); // 'build-box' (os.hostname()), or '127.0.0.1'
 * await urlHost({ address: '::1', family: 'IPv6' }); // '[::1]'
 * ```
 */
export async function urlHost(
  addr: Pick<net.AddressInfo, 'address' | 'family'>,
  resolve: (name: string) => Promise<unknown> = lookup,
): Promise<string> {
  if (addr.address !== '0.0.0.0' && addr.address !== '::') return addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const name = os.hostname();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), HOSTNAME_LOOKUP_MS);
    timer.unref();
  });
  try {
    await Promise.race([resolve(name), late]);
    return name;
  } catch {
    return '127.0.0.1';
  } finally {
    clearTimeout(timer);
  }
}
