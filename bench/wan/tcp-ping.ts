// TCP ping across the emulated WAN (bench/wan-net.ts): an echo server in one
// member namespace, a client in another that sends one byte, waits for it to
// come back, and repeats — each round trip timed. What TCP itself sees: a lost
// segment shows as a round trip longer by a retransmission timeout.
// Both ends are small Node programs run with `ip netns exec`.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { WanNet } from '../wan-net.js';

const echoPort = 7007;
const startDeadlineMs = 15_000;

const serverCode = `
const net = require('node:net');
const s = net.createServer((c) => { c.setNoDelay(true); c.pipe(c); c.on('error', () => c.destroy()); });
s.listen(${echoPort}, process.argv[1], () => console.log('listening'));
`;

const clientCode = `
const net = require('node:net');
const [host, countText, timeoutText] = process.argv.slice(1);
const count = Number(countText);
const timeoutMs = Number(timeoutText);
const rtts = [];
let sentAt = 0n;
const giveUp = () => { console.log(JSON.stringify({ rtts, timedOut: true })); process.exit(0); };
// The connection's set-up counts against the first ping's timeout (a cut link never connects).
let timer = setTimeout(giveUp, timeoutMs);
const c = net.connect(${echoPort}, host);
c.setNoDelay(true);
const one = () => {
  clearTimeout(timer);
  if (rtts.length === count) { c.end(); console.log(JSON.stringify({ rtts })); return; }
  sentAt = process.hrtime.bigint();
  timer = setTimeout(giveUp, timeoutMs);
  c.write('x');
};
c.on('connect', one);
c.on('data', (d) => {
  for (let i = 0; i < d.length; i++) {
    rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
    one();
  }
});
c.on('error', (e) => { console.log(JSON.stringify({ rtts, error: e.message })); process.exit(0); });
`;

export interface PingResult {
  /** Round-trip times in ms, one per ping answered, in order. */
  readonly rtts: number[];
  /** A ping got no answer within the per-ping timeout (the rest were not sent). */
  readonly timedOut: boolean;
  readonly error: string | null;
}

/** Starts the echo server in member `to`'s namespace; resolves once it listens. Kill the returned process to stop it. */
export async function startEcho(wan: WanNet, to: number): Promise<{ stop: () => void }> {
  const argv = [...wan.wrap(to), process.execPath, '-e', serverCode, wan.addresses[to]!];
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: p.stdout })[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    const first = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('echo server did not start')), startDeadlineMs))),
    ]);
    if (first.done === true || first.value !== 'listening') throw new Error(`echo server: ${String(first.value)}`);
  } catch (err) {
    p.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return { stop: () => p.kill('SIGKILL') };
}

/** `count` pings from member `from` to the echo server of member `to`, one after the other. */
export async function tcpPing(wan: WanNet, from: number, to: number, count: number, perPingTimeoutMs: number): Promise<PingResult> {
  const argv = [...wan.wrap(from), process.execPath, '-e', clientCode, wan.addresses[to]!, String(count), String(perPingTimeoutMs)];
  const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || line === '') throw new Error(`tcp ping exited ${code}: ${err.trim()}`);
  const r = JSON.parse(line) as { rtts: number[]; timedOut?: boolean; error?: string };
  return { rtts: r.rtts, timedOut: r.timedOut === true, error: r.error ?? null };
}
