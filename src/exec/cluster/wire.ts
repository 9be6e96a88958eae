/**
 * The cluster's data plane framing: executor <-> executor and driver <-> executor messages over TCP. A frame is
 * a 4-byte big-endian length and a V8-serialized value (the structured-clone algorithm, so bucket columns and
 * typed arrays travel as they are, as they do between threads; large ones are written from their own memory and
 * read back as views onto the frame, see `FrameSerializer`). Writers wait for `drain` when the socket's buffer is
 * full (back pressure); readers cut frames from the byte stream as they arrive.
 *
 * Every connection starts with an HMAC challenge (Spark's spark.authenticate): the server sends a random nonce,
 * the client answers HMAC-SHA256(secret, nonce). A server with a secret refuses a wrong or missing answer and
 * logs the peer's address; a server without one (bound to loopback only, see `checkBind`) accepts every answer.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import v8 from 'node:v8';
import { ClusterError } from '../../core/errors.js';

/** Frames larger than this are refused (a corrupt length, or a peer that is not kindling). */
const MAX_FRAME_BYTES = 2 ** 31 - 1;

/**
 * Typed arrays at least this large are written straight from their own memory instead of being copied into the
 * serialized value (v8.serialize copied a 64 MiB column once more, ~35 ms). The frame stays plain V8 format.
 */
const OUT_OF_BAND_BYTES = 64 * 1024;

/**
 * Frames at least this large are received into one buffer allocated up front, instead of being concatenated
 * from chunks at the end; starting at offset 0 of their own memory, the aligned arrays in them are read back as
 * views, not copies (Node's deserializer copies only a misaligned array).
 */
const PREALLOCATE_BYTES = 256 * 1024;

const ALIGN = 8;

/** V8's tag before a host object (Node writes typed arrays as host objects). */
const HOST_OBJECT_TAG = 0x5c;

/** Node's index of each view type in its host-object format (the byte after the `\\` tag), read off v8 itself. */
const NODE_VIEW_INDEX = new Map<unknown, number>(
  [
    Buffer,
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    DataView,
  ].map((T) => {
    const probe = v8.serialize(T === Buffer ? Buffer.alloc(0) : new (T as Float64ArrayConstructor)(new ArrayBuffer(0)));
    return [T, probe[probe.indexOf(HOST_OBJECT_TAG) + 1]!];
  }),
);

const varintLength = (n: number): number => (n < 2 ** 7 ? 1 : n < 2 ** 14 ? 2 : n < 2 ** 21 ? 3 : n < 2 ** 28 ? 4 : 5);

/**
 * Node's DefaultSerializer, except that a large typed array's bytes are not copied: the value is cut there into
 * parts, the array's memory being one of them. Padding tags (which V8 skips wherever it reads a tag) go before
 * the array's host-object tag so that its bytes start at a multiple of 8 in the frame.
 */
class FrameSerializer extends v8.DefaultSerializer {
  readonly parts: Buffer[] = [];
  #written = 0;

  _writeHostObject(view: ArrayBufferView): void {
    const index = NODE_VIEW_INDEX.get(view.constructor);
    if (view.byteLength < OUT_OF_BAND_BYTES || index === undefined || index > 0x7f) {
      (v8.DefaultSerializer.prototype as unknown as { _writeHostObject(v: ArrayBufferView): void })._writeHostObject.call(this, view);
      return;
    }
    this.#cut();
    // V8 has just written the host-object tag; it moves behind the padding.
    const before = this.parts.pop()!;
    if (before[before.length - 1] !== HOST_OBJECT_TAG) throw new Error('no host-object tag before _writeHostObject'); // internal: V8 writes it first
    this.parts.push(before.subarray(0, -1));
    this.#written -= 1;
    const after = this.#written + 1 + 1 + varintLength(view.byteLength);
    const pad = (ALIGN - (after % ALIGN)) % ALIGN;
    const tagged = Buffer.alloc(pad + 2);
    tagged[pad] = HOST_OBJECT_TAG;
    tagged[pad + 1] = index;
    this.parts.push(tagged);
    this.#written += tagged.length;
    this.writeUint32(view.byteLength);
    this.#cut();
    this.parts.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
    this.#written += view.byteLength;
  }

  /** The serialized bytes so far, and everything after them. */
  finish(): Buffer[] {
    this.#cut();
    return this.parts;
  }

  #cut(): void {
    const part = this.releaseBuffer();
    this.parts.push(part);
    this.#written += part.length;
  }
}

/** Cuts frames out of a byte stream. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** A large frame being received into a buffer of its own, and how much of it has arrived. */
  #large: Buffer | undefined;
  #filled = 0;

  constructor(private readonly onFrame: (value: unknown) => void) {}

  /** `transient`: the chunk's memory is reused after this call (a socket's `onread` buffer), so kept parts are copied. */
  push(chunk: Buffer, transient = false): void {
    if (this.#large !== undefined) {
      const n = Math.min(chunk.length, this.#large.length - this.#filled);
      chunk.copy(this.#large, this.#filled, 0, n);
      this.#filled += n;
      if (this.#filled < this.#large.length) return;
      const frame = this.#large;
      this.#large = undefined;
      this.onFrame(v8.deserialize(frame));
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.#chunks.push(transient ? Buffer.from(chunk) : chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= 4) {
      const head = this.#peek(4);
      const length = head.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES) throw new ClusterError(`frame of ${length} bytes refused`);
      if (this.#buffered < 4 + length) {
        if (length >= PREALLOCATE_BYTES) this.#startLarge(length);
        return;
      }
      const frame = this.#take(4 + length);
      this.onFrame(v8.deserialize(frame.subarray(4)));
    }
  }

  /** Moves what has arrived of a large frame into a buffer of its full size; later chunks are copied there. */
  #startLarge(length: number): void {
    const all = this.#take(this.#buffered);
    this.#large = Buffer.allocUnsafeSlow(length);
    this.#filled = all.copy(this.#large, 0, 4);
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length >= n) return this.#chunks[0]!;
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [all];
    return all;
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return frame;
  }
}

/**
 * Writes one frame; resolves once the socket can take more (back pressure). Large typed arrays in `value` are
 * written from their own memory, not copied: they must not be changed until the returned promise resolves
 * (values sent here are results and blocks nobody writes to any more).
 */
export function writeFrame(socket: net.Socket, value: unknown): Promise<void> {
  const s = new FrameSerializer();
  s.writeHeader();
  s.writeValue(value);
  const parts = s.finish();
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(
    parts.reduce((n, p) => n + p.length, 0),
    0,
  );
  // One writev for the length and every part, not one small packet each (Nagle is off).
  socket.cork();
  let ok = socket.write(head);
  for (const part of parts) if (part.length > 0) ok = socket.write(part);
  socket.uncork();
  if (ok) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

export function hmac(secret: string, nonce: Buffer): Buffer {
  return createHmac('sha256', secret).update(nonce).digest();
}

/** Loopback addresses need no secret; any other bind does (the same rule for executors and drivers). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Refuses a non-loopback bind without a shared secret. */
export function checkBind(host: string, secret: string | undefined): void {
  if (!isLoopback(host) && (secret === undefined || secret === '')) {
    throw new ClusterError(
      `binding ${host} (not loopback) needs a shared secret: pass --secret-file FILE or set KINDLING_SECRET (every executor and the driver use the same one)`,
    );
  }
}

/** A request/response server: one handler per request, answers matched by request id; HMAC-authenticated. */
export interface FrameServer {
  readonly port: number;
  close(): Promise<void>;
}

export type Handler = (request: { readonly id: number; readonly body: unknown }) => Promise<unknown>;

export function startFrameServer(
  host: string,
  port: number,
  secret: string | undefined,
  handle: Handler,
  log: (line: string) => void,
): Promise<FrameServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setNoDelay(true);
    const nonce = randomBytes(32);
    let authed = false;
    const reader = new FrameReader((frame) => {
      // Frames that came in the same chunk as a refused answer are never looked at.
      if (socket.destroyed) return;
      if (!authed) {
        const answer = (frame as { mac?: unknown }).mac;
        const expected = secret ? hmac(secret, nonce) : undefined;
        const ok =
          expected === undefined || (Buffer.isBuffer(answer) || answer instanceof Uint8Array ? safeEqual(Buffer.from(answer), expected) : false);
        if (!ok) {
          log(`refused a connection from ${socket.remoteAddress}:${socket.remotePort}: wrong or missing shared secret`);
          socket.destroy();
          return;
        }
        authed = true;
        void writeFrame(socket, { ok: true });
        return;
      }
      const req = frame as { id: number; body: unknown };
      handle(req).then(
        (value) => writeFrame(socket, { id: req.id, value }),
        (e: unknown) => writeFrame(socket, { id: req.id, error: (e as Error)?.message ?? String(e) }),
      );
    });
    socket.on('data', (chunk) => {
      try {
        reader.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    void writeFrame(socket, { nonce });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new ClusterError(`cannot listen on ${host}:${port}: ${e.message}`)));
    server.listen(port, host, () => {
      const address = server.address() as net.AddressInfo;
      resolve({
        port: address.port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A client connection to a FrameServer: requests are multiplexed by id; a lost connection fails every waiting
 * request (the caller decides what that means: a fetch failure, a lost result).
 */
export class FrameClient {
  readonly #socket: net.Socket;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #closed: Error | undefined;
  readonly #ready: Promise<void>;

  constructor(host: string, port: number, secret: string | undefined) {
    // Reads go into one 1 MiB buffer of the connection's, not a fresh 64 KiB one per read: a large answer (a
    // bucket column fetched by a reducer) is copied from it straight into its frame, in fewer, larger reads.
    let reader!: FrameReader;
    const readBuffer = Buffer.allocUnsafe(2 ** 20);
    this.#socket = net.connect({
      host,
      port,
      onread: {
        buffer: readBuffer,
        callback: (n) => {
          try {
            reader.push(readBuffer.subarray(0, n), true);
          } catch (e) {
            this.#socket.destroy(e as Error);
          }
          return true;
        },
      },
    });
    this.#socket.setNoDelay(true);
    let authed = false;
    let onAuthed!: () => void;
    let onFailed!: (e: Error) => void;
    this.#ready = new Promise<void>((resolve, reject) => {
      onAuthed = resolve;
      onFailed = reject;
    });
    this.#ready.catch(() => undefined);
    reader = new FrameReader((frame) => {
      const f = frame as { nonce?: Uint8Array; ok?: boolean; id?: number; value?: unknown; error?: string };
      if (!authed) {
        if (f.nonce !== undefined) {
          void writeFrame(this.#socket, { mac: secret ? hmac(secret, Buffer.from(f.nonce)) : Buffer.alloc(0) });
        } else if (f.ok) {
          authed = true;
          onAuthed();
        }
        return;
      }
      const w = this.#waiting.get(f.id!);
      if (w === undefined) return;
      this.#waiting.delete(f.id!);
      if (f.error !== undefined) w.reject(new Error(f.error));
      else w.resolve(f.value);
    });
    const fail = (e: Error): void => {
      if (this.#closed !== undefined) return;
      this.#closed = e;
      onFailed(e);
      for (const w of this.#waiting.values()) w.reject(e);
      this.#waiting.clear();
    };
    this.#socket.on('error', (e) => fail(new Error(`connection to ${host}:${port} failed: ${e.message}`)));
    this.#socket.on('close', () =>
      fail(new Error(authed ? `connection to ${host}:${port} closed` : `${host}:${port} refused the connection (wrong shared secret?)`)),
    );
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  async request(body: unknown): Promise<unknown> {
    await this.#ready;
    if (this.#closed !== undefined) throw this.#closed;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      void writeFrame(this.#socket, { id, body });
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Does not keep the process alive by itself. */
  unref(): this {
    this.#socket.unref();
    return this;
  }
}
