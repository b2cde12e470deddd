// Yamux window updates at half the window, not after every data frame
// (issue 15, item 1).
//
// Why. @libp2p/yamux 8 sends a window update after every data frame it
// receives (stream.js sendWindowUpdate: whenever the receive window is not
// full). Each of our frames therefore cost a second message back: a 12-byte
// yamux frame, Noise-encrypted, a socket write, and at the peer a wake-up, a
// read, a decryption and the muxer's dispatch — for an idle lan member about
// as many messages as its own frames. go-yamux and rust-yamux wait until the
// window is half used (the yamux spec leaves the moment to the receiver: the
// sender may send while its window is open).
//
// How. The stream's own method decides; it is wrapped once per process so
// that, on an established stream whose receive window still has at least half
// its size left, it sends nothing. Every other case goes to the library's
// method unchanged: the SYN and ACK flags of a new stream (states Init and
// SYNReceived), a paused stream (which sends none), and a window below half,
// where the library's update and its window auto-tuning run as before. The
// sender is never stalled: it still has half a window (≥ 128 KiB, a frame of
// ours is a few hundred bytes) when the update goes out. Nothing changes on
// the wire but how often updates come, so members with and without this
// interoperate. The library's fields are private in its types, hence the
// narrow view below; test/adapters/transport/yamux-window-updates.test.ts
// pins the behaviour on the pinned version, so a library change fails there.

import { StreamState, YamuxStream } from '@libp2p/yamux/stream';

/** The fields of a YamuxStream the decision reads (private in the library's types). */
interface WindowView {
  readonly state: StreamState;
  readonly recvWindow: number;
  readonly recvWindowCapacity: number;
}

let installed = false;

/**
 * Makes every YamuxStream of this process send a window update only when its
 * receive window is less than half open (see the file comment). Idempotent.
 */
export function sendWindowUpdatesAtHalf(): void {
  if (installed) return;
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowView) => void };
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function') throw new Error('@libp2p/yamux: YamuxStream has no sendWindowUpdate; the pinned version changed');
  proto.sendWindowUpdate = function sendWindowUpdate(this: WindowView): void {
    if (this.state === StreamState.Established && this.recvWindowCapacity * 2 >= this.recvWindow) return;
    original.call(this);
  };
  installed = true;
}
