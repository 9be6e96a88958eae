/**
 * A raw RESP connection for the direct Redis source's batch reads. A client library decodes an XRANGE reply into
 * an array per entry and a string per field on the driver (seconds for 100k entries); a Lua script that encodes
 * the entries as JSON blocks Redis itself for as long. Here Redis answers a plain `MULTI / XRANGE / XINFO STREAM /
 * EXEC` and the driver only walks the reply's length headers to find where entries start, then ships byte slices
 * of it to the workers, which decode their entries there.
 */
import net from 'node:net';
import { capture } from '../closure/index.js';
import { IllegalStateError } from '../core/errors.js';

/** One stream entry as the source hands it on (see RedisEntry in redis.ts). */
interface Entry {
  readonly id: string;
  readonly ms: number;
  readonly fields: Record<string, string>;
}

const CR = 0x0d;

/**
 * Scans RESP replies as bytes arrive, without decoding them: a stack of the elements still expected in each open
 * array. It notes where each element of a reply's top array starts (`tops`: the XRANGE and XINFO replies inside an
 * EXEC reply) and where each element one level further down starts (`entries`, for the first of them: XRANGE's
 * entries), so the caller can cut the bytes at entry boundaries.
 */
class Scanner {
  buf = Buffer.allocUnsafe(1 << 16);
  len = 0;
  pos = 0;
  /** Elements still expected in each open array, outermost first. */
  readonly #left: number[] = [];
  tops: number[] = [];
  entries: number[] = [];

  feed(chunk: Buffer): void {
    if (this.len + chunk.length > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + chunk.length));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    chunk.copy(this.buf, this.len);
    this.len += chunk.length;
  }

  /** Drops the replies read so far (the caller took what it needed from them). */
  reset(): void {
    this.buf.copy(this.buf, 0, this.pos, this.len);
    this.len -= this.pos;
    this.pos = 0;
    this.tops = [];
    this.entries = [];
  }

  /** The integer of a header line at `p` (after its type byte) and the offset after its CRLF; undefined if incomplete. */
  #header(p: number): [number, number] | undefined {
    const buf = this.buf;
    let i = p + 1;
    const neg = buf[i] === 0x2d;
    if (neg) i++;
    let n = 0;
    for (; i < this.len && buf[i] !== CR; i++) n = n * 10 + (buf[i]! - 0x30);
    if (i + 1 >= this.len) return undefined;
    return [neg ? -n : n, i + 2];
  }

  /** Advances over complete elements; true when a whole top-level reply ended at `pos`. */
  scan(): boolean {
    const buf = this.buf;
    for (;;) {
      if (this.pos >= this.len) return false;
      const p = this.pos;
      const type = buf[p];
      const depth = this.#left.length;
      let end: number;
      let opens = 0;
      if (type === 0x2a /* * */ || type === 0x24 /* $ */) {
        const h = this.#header(p);
        if (h === undefined) return false;
        if (type === 0x2a) {
          end = h[1];
          opens = Math.max(0, h[0]);
        } else {
          end = h[0] < 0 ? h[1] : h[1] + h[0] + 2;
          if (end > this.len) return false;
        }
      } else {
        // +simple, -error, :integer: one line.
        const nl = buf.indexOf('\r\n', p, 'latin1');
        if (nl < 0 || nl >= this.len - 1) return false;
        end = nl + 2;
      }
      if (depth === 1) this.tops.push(p);
      else if (depth === 2 && this.tops.length === 1) this.entries.push(p);
      this.pos = end;
      if (opens > 0) {
        this.#left.push(opens);
        continue;
      }
      // The element is complete, and with it every array it was the last element of.
      let d = this.#left.length;
      while (d > 0) {
        if (--this.#left[d - 1]! > 0) break;
        this.#left.pop();
        d--;
      }
      if (d === 0) return true;
    }
  }
}

/**
 * Decodes a small reply (XINFO STREAM, an error) at `p`: arrays as arrays, bulk and simple strings as strings,
 * integers as numbers, an error as an Error. Returns the value and the offset after it.
 */
export function decodeReply(buf: Buffer, p: number): [unknown, number] {
  const nl = buf.indexOf('\r\n', p, 'latin1');
  const line = buf.toString('latin1', p + 1, nl);
  const next = nl + 2;
  switch (buf[p]) {
    case 0x2a: {
      const n = Number(line);
      if (n < 0) return [null, next];
      const out: unknown[] = [];
      let q = next;
      for (let i = 0; i < n; i++) {
        const [v, after] = decodeReply(buf, q);
        out.push(v);
        q = after;
      }
      return [out, q];
    }
    case 0x24: {
      const n = Number(line);
      return n < 0 ? [null, next] : [buf.toString('utf8', next, next + n), next + n + 2];
    }
    case 0x3a:
      return [Number(line), next];
    case 0x2d:
      return [new Error(buf.toString('utf8', p + 1, nl)), next];
    default:
      return [buf.toString('utf8', p + 1, nl), next];
  }
}

/** RESP of one command. */
function encode(args: readonly (string | number)[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) {
    const v = String(a);
    s += `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
  }
  return s;
}

/** What one batch read found: entry count, last id, byte slices of the entries, and XINFO STREAM's fields. */
export interface RawRead {
  readonly count: number;
  readonly lastId: string;
  readonly slices: Uint8Array[];
  readonly info: Map<string, unknown> | undefined;
}

/** @internal A connection that reads entry ranges as raw bytes (one per direct source). */
export class RawStreamReader {
  readonly #socket: net.Socket;
  readonly #scanner = new Scanner();
  #waiting: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #closed: Error | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#scanner.feed(chunk);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed ??= new IllegalStateError('the Redis connection of a direct stream source closed');
      this.#waiting?.reject(this.#closed);
      this.#waiting = undefined;
    });
    socket.on('error', (e) => (this.#closed = new IllegalStateError(`the Redis connection of a direct stream source failed: ${e.message}`)));
  }

  #wake(): void {
    this.#waiting?.resolve();
    this.#waiting = undefined;
  }

  /** Connects to `url` (`redis://[user:password@]host[:port][/db]`); AUTH and SELECT as the URL says. */
  static async connect(url: string): Promise<RawStreamReader> {
    const u = new URL(url);
    const socket = net.connect(Number(u.port || 6379), u.hostname.replace(/^\[|\]$/g, ''));
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const reader = new RawStreamReader(socket);
    if (u.password !== '') {
      const user = decodeURIComponent(u.username);
      await reader.#simple(['AUTH', ...(user === '' ? [] : [user]), decodeURIComponent(u.password)]);
    }
    const db = u.pathname.replace(/^\//, '');
    if (db !== '' && db !== '0') await reader.#simple(['SELECT', db]);
    return reader;
  }

  /** Sends commands and waits for `replies` top-level replies; the scanner then holds them from offset 0. */
  async #send(commands: readonly (readonly (string | number)[])[], replies: number): Promise<void> {
    if (this.#closed !== undefined) throw this.#closed;
    this.#scanner.reset();
    this.#socket.write(commands.map(encode).join(''));
    let got = 0;
    while (got < replies) {
      if (this.#scanner.scan()) {
        got++;
        continue;
      }
      await new Promise<void>((resolve, reject) => (this.#waiting = { resolve, reject }));
    }
  }

  async #simple(command: readonly (string | number)[]): Promise<void> {
    await this.#send([command], 1);
    const [reply] = decodeReply(this.#scanner.buf, 0);
    if (reply instanceof Error) throw new IllegalStateError(`Redis refused ${command[0]}: ${reply.message}`);
  }

  /**
   * Entries after `after` (exclusive), at most `limit`, cut into at most `parts` slices, with XINFO STREAM read in
   * the same transaction (so the counters describe the moment of the read).
   */
  async read(key: string, after: string, limit: number, parts: number): Promise<RawRead> {
    await this.#send([['MULTI'], ['XRANGE', key, `(${after}`, '+', 'COUNT', limit], ['XINFO', 'STREAM', key], ['EXEC']], 4);
    const s = this.#scanner;
    const buf = s.buf;
    // Replies: +OK, +QUEUED, +QUEUED, then EXEC's array of [XRANGE reply, XINFO reply].
    let p = 0;
    for (let i = 0; i < 3; i++) {
      const [v, next] = decodeReply(buf, p);
      if (v instanceof Error) throw new IllegalStateError(`redisStream ${key}: reading a batch failed: ${v.message}`);
      p = next;
    }
    const [range, xinfo] = s.tops;
    if (range === undefined || xinfo === undefined)
      throw new IllegalStateError(`redisStream ${key}: reading a batch failed: the transaction was aborted`);
    if (buf[range] === 0x2d)
      throw new IllegalStateError(`redisStream ${key}: XRANGE failed: ${buf.toString('utf8', range + 1, buf.indexOf('\r\n', range, 'latin1'))}`);
    // XINFO answers an error for a key that does not exist yet.
    const [v] = decodeReply(buf, xinfo);
    const info = Array.isArray(v) ? new Map(Array.from({ length: v.length / 2 }, (_, i) => [String(v[2 * i]), v[2 * i + 1]])) : undefined;
    const entries = s.entries;
    const rangeEnd = xinfo;
    const count = entries.length;
    let lastId = '';
    if (count > 0) {
      // An entry: *2 CRLF $len CRLF id CRLF ...
      const at = entries[count - 1]!;
      const h = buf.indexOf('\r\n', at, 'latin1') + 2;
      const nl = buf.indexOf('\r\n', h, 'latin1');
      const len = Number(buf.toString('latin1', h + 1, nl));
      lastId = buf.toString('latin1', nl + 2, nl + 2 + len);
    }
    const slices: Uint8Array[] = [];
    const size = Math.ceil(count / Math.max(1, parts));
    for (let lo = 0; lo < count; lo += size) {
      const hi = lo + size;
      // A copy (Uint8Array's slice: Buffer's is a view): the next read overwrites this buffer, and a view would
      // carry all of it to the worker.
      slices.push(Uint8Array.prototype.slice.call(buf, entries[lo]!, hi < count ? entries[hi]! : rangeEnd));
    }
    return { count, lastId, slices, info };
  }

  /** Whether the connection closed or failed (Redis restarted, say): a new one is needed. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/**
 * @internal The entries in a byte slice of an XRANGE reply (run in the workers): each is `*2 $id *2k ($field $value)*`.
 * Lengths are in bytes, so fields are cut from the bytes before decoding UTF-8.
 */
export const parseRespEntries = capture({}, (bytes: Uint8Array): Entry[] => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Latin-1 gives one character per byte, so RESP's byte lengths are offsets in this text too. When every byte is
  // ASCII (the common case) ids and fields are substrings of it; otherwise each is decoded from its UTF-8 bytes.
  const text = buf.toString('latin1');
  // A Latin-1 character above 0x7f takes two bytes in UTF-8: equal lengths mean every byte is ASCII.
  const ascii = Buffer.byteLength(text, 'utf8') === text.length;
  const out: Entry[] = [];
  let p = 0;
  const int = (type: number): number => {
    // p is at a type byte; reads the header's number and moves past its CRLF.
    if (text.charCodeAt(p) !== type) throw new Error(`redisStream: malformed XRANGE reply slice at byte ${p} of ${buf.length}`); // shipped: runs in workers
    let n = 0;
    let i = p + 1;
    for (let c = text.charCodeAt(i); c !== 0x0d && i < text.length; c = text.charCodeAt(++i)) n = n * 10 + (c - 0x30);
    p = i + 2;
    return n;
  };
  const str = (): string => {
    const n = int(0x24);
    const s = ascii ? text.slice(p, p + n) : buf.toString('utf8', p, p + n);
    p += n + 2;
    return s;
  };
  while (p < buf.length) {
    int(0x2a); // [id, fields]
    const id = str();
    const n = int(0x2a);
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < n; i += 2) {
      const f = str();
      fields[f] = str();
    }
    out.push({ id, ms: Number(id.slice(0, id.indexOf('-'))), fields });
  }
  return out;
});
