/**
 * A fixed-rate Redis stream producer, run as its own process by bench/streaming-sustained.ts: every 10 ms it writes
 * the entries due by then (rate × elapsed − sent) as one pipelined batch of `XADD key * line <10 words>`, encoded
 * as RESP by hand (ioredis's per-command encoding and reply parsing would cost more CPU than Redis itself at 100k/s
 * on a shared 2-core machine), lines drawn from a prepared pool. Replies are only counted. On SIGTERM or after --seconds it stops, waits for every
 * reply, and prints one JSON line: entries sent, the word counts of everything it wrote, and the longest pause between two
 * writes (so a run can tell a slow producer from a slow stream).
 *
 *   npx tsx bench/streaming-producer.ts --port P --key K --rate R --seconds S [--seed N]
 */
import net from 'node:net';

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1]!;
  if (fallback === undefined) throw new Error(`streaming-producer: --${name} is required`); // internal: bench usage
  return fallback;
};
const port = Number(arg('port'));
const key = arg('key');
const rate = Number(arg('rate'));
const seconds = Number(arg('seconds'));
let seed = Number(arg('seed', '11'));
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

// Zipf-like over 1000 words (as bench/streaming-redis.ts): a few hot keys, a long tail. The lines come from a pool
// built once, each with its whole XADD command encoded, so a tick only picks and joins them: at 100k/s the producer
// must cost little CPU on a machine it shares with the stream, Redis and other users.
const VOCAB = Array.from({ length: 1000 }, (_, i) => `w${i}`);
const POOL = 4096;
const lineWords: number[][] = [];
const commands: string[] = [];
const head = `*5\r\n$4\r\nXADD\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n$1\r\n*\r\n$4\r\nline\r\n`;
for (let l = 0; l < POOL; l++) {
  const words = Array.from({ length: 10 }, () => Math.floor(rnd() ** 2 * 1000));
  const line = words.map((k) => VOCAB[k]!).join(' ');
  lineWords.push(words);
  commands.push(`${head}$${line.length}\r\n${line}\r\n`);
}
const used = new Uint32Array(POOL);

const socket = net.connect(port, '127.0.0.1');
socket.setNoDelay(true);
await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));

// Each XADD reply is one bulk string ("$N\r\n<id>\r\n"): two CRLFs. An error reply ("-ERR ...\r\n") would be one,
// so the first one is reported and the run fails rather than miscounting.
let crlf = 0;
let pendingCr = false;
socket.on('data', (d: Buffer) => {
  if (d[0] === 0x2d && crlf % 2 === 0) {
    process.stderr.write(`streaming-producer: ${d.toString('latin1', 0, 200)}\n`);
    process.exit(1);
  }
  for (let i = 0; i < d.length; i++) {
    if (d[i] === 0x0a && (pendingCr || (i > 0 && d[i - 1] === 0x0d))) crlf++;
    pendingCr = false;
  }
  pendingCr = d[d.length - 1] === 0x0d;
});

let sent = 0;
let maxGap = 0;
const t0 = Date.now();
let last = t0;
let stopping = false;
const tick = () => {
  const elapsed = Date.now() - t0;
  const due = Math.floor((Math.min(elapsed, seconds * 1000) / 1000) * rate) - sent;
  if (due > 0) {
    const parts: string[] = [];
    for (let i = 0; i < due; i++) {
      const l = Math.floor(rnd() * POOL);
      used[l]!++;
      parts.push(commands[l]!);
    }
    socket.write(parts.join(''));
    sent += due;
  }
  // The longest pause between two writes (event-loop stalls, CPU starvation): entries due meanwhile go out late.
  maxGap = Math.max(maxGap, t0 + elapsed - last);
  last = t0 + elapsed;
  if (elapsed >= seconds * 1000 || stopping) return finish();
  setTimeout(tick, 10 - (elapsed % 10));
};
process.on('SIGTERM', () => (stopping = true));
setTimeout(tick, 10);

async function finish(): Promise<void> {
  while (crlf / 2 < sent) await new Promise((r) => setTimeout(r, 5));
  socket.end();
  const words: Record<string, number> = {};
  used.forEach((n, l) => {
    for (const k of lineWords[l]!) words[VOCAB[k]!] = (words[VOCAB[k]!] ?? 0) + n;
  });
  const wallS = (Date.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ sent, wallS, maxGapMs: maxGap, words })}\n`);
}
