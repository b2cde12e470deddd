// A flood of idle TCP connections, for the connection-admission tests (issue
// 12, item 3): it opens `socketsPerTarget` connections to each target, sends
// nothing on them, and re-opens each one shortly after the far end closes it,
// from a spread of loopback source addresses, until stopped. This is the
// attack that starved libp2p's upgrade slots: no key needed, only TCP.
//
// Bounded on every side: only 127.0.0.0/8 targets and sources are accepted,
// the number of open sockets never exceeds targets × socketsPerTarget, a
// closed socket is re-opened no sooner than reopenDelayMs later, and the
// flood stops by itself after durationMsMax even if the test forgets it.
import { connect, type Socket } from 'node:net';

export interface IdleFloodOptions {
  readonly targets: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  /** Idle connections held open to each target at once. */
  readonly socketsPerTarget: number;
  /** Source addresses, used round-robin (none of them a member's). */
  readonly sources: readonly string[];
  /** Delay before a closed connection is opened again (ms). */
  readonly reopenDelayMs?: number;
  /** The flood stops after this long whatever happens (ms). */
  readonly durationMsMax: number;
}

export interface IdleFlood {
  /** Connections currently open (connected and not yet closed by the far end). */
  readonly open: () => number;
  /** Connections opened so far, in total. */
  readonly opened: () => number;
  stop(): void;
}

const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const socketsMax = 1000;

export function startIdleFlood(o: IdleFloodOptions): IdleFlood {
  for (const a of [...o.targets.map((t) => t.host), ...o.sources]) {
    if (!loopback.test(a)) throw new Error(`idle flood: ${a} is not a 127.0.0.0/8 address`);
  }
  if (o.sources.length === 0) throw new Error('idle flood: no source address');
  if (o.targets.length * o.socketsPerTarget > socketsMax) throw new Error(`idle flood: more than ${socketsMax} sockets`);
  const reopenDelayMs = o.reopenDelayMs ?? 20;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let openNow = 0;
  let openedTotal = 0;
  let next = 0;

  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const hold = (target: { host: string; port: number }): void => {
    if (stopped) return;
    const localAddress = o.sources[next++ % o.sources.length]!;
    const s = connect({ host: target.host, port: target.port, localAddress });
    sockets.add(s);
    let connected = false;
    s.on('connect', () => {
      connected = true;
      openNow += 1;
      openedTotal += 1;
    });
    // Whatever the far end says is read and dropped; the flood never writes.
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      if (connected) openNow -= 1;
      later(() => hold(target), reopenDelayMs);
    });
  };

  for (const t of o.targets) for (let i = 0; i < o.socketsPerTarget; i++) hold(t);
  const stop = (): void => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  later(stop, o.durationMsMax);
  return { open: () => openNow, opened: () => openedTotal, stop };
}
