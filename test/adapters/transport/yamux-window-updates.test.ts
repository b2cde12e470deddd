// yamux-window-updates.ts on the pinned @libp2p/yamux: a real YamuxStream,
// fed data frames as the muxer feeds them (handleData), with a recorder in
// place of the muxer's sendFrame. The library alone answers every data frame
// with a window update; with sendWindowUpdatesAtHalf an established stream
// sends one only once half its receive window is used, and that update
// restores the whole window; a new stream's SYN still goes out at once. The
// real Noise-over-TCP path runs in libp2p-transport.test.ts, where frames of
// every size (up to the frame cap) cross such streams.
import { describe, expect, it } from 'vitest';
import { Uint8ArrayList } from 'uint8arraylist';
import { StreamState, YamuxStream } from '@libp2p/yamux/stream';
import { sendWindowUpdatesAtHalf } from '../../../src/adapters/transport/yamux-window-updates.js';

/** yamux's frame types (frame.ts): 0 data, 1 window update. */
const windowUpdateType = 1;
/** The spec's initial stream window (constants.ts INITIAL_STREAM_WINDOW). */
const initialWindowBytes = 256 * 1024;
const synFlag = 1;

interface SentHeader {
  readonly type: number;
  readonly flag: number;
  readonly length: number;
}

const noop = (): void => undefined;
const log = Object.assign(noop, { error: noop, trace: noop, enabled: false, newScope: () => log });

function streamWithRecorder(state: StreamState): { stream: YamuxStream; sent: SentHeader[] } {
  const sent: SentHeader[] = [];
  const init = { id: '1', streamId: 1, state, direction: 'inbound', log, getRTT: () => -1, sendFrame: (h: SentHeader) => (sent.push(h), true) };
  const stream = new YamuxStream(init as unknown as ConstructorParameters<typeof YamuxStream>[0]);
  return { stream, sent };
}

function receive(stream: YamuxStream, bytes: number): void {
  const frame = { header: { type: 0, flag: 0, streamID: 1, length: bytes }, data: new Uint8ArrayList(new Uint8Array(bytes)) };
  (stream as unknown as { handleData(f: typeof frame): void }).handleData(frame);
}

describe('sendWindowUpdatesAtHalf', () => {
  it('the library alone answers every data frame with a window update (what the wrap removes)', () => {
    // Runs first: once installed, the wrap holds for the whole process.
    const { stream, sent } = streamWithRecorder(StreamState.Established);
    for (let i = 0; i < 10; i++) receive(stream, 300);
    expect(sent.filter((h) => h.type === windowUpdateType)).toHaveLength(10);
  });

  it('with it, an established stream sends one update per half window received, restoring the whole window', () => {
    sendWindowUpdatesAtHalf();
    sendWindowUpdatesAtHalf(); // idempotent
    const { stream, sent } = streamWithRecorder(StreamState.Established);
    const frameBytes = 300;
    const frames = 2000;
    for (let i = 0; i < frames; i++) receive(stream, frameBytes);
    const updates = sent.filter((h) => h.type === windowUpdateType);
    // An update when less than half the window is left: every ceil((W/2 + 1) / 300) frames.
    const framesPerUpdate = Math.ceil((initialWindowBytes / 2 + 1) / frameBytes);
    expect(updates).toHaveLength(Math.floor(frames / framesPerUpdate));
    for (const u of updates) expect(u.length).toBe(framesPerUpdate * frameBytes);
  });

  it("a new stream's SYN still goes out at once", () => {
    sendWindowUpdatesAtHalf();
    const { stream, sent } = streamWithRecorder(StreamState.Init);
    (stream as unknown as { sendWindowUpdate(): void }).sendWindowUpdate();
    expect(sent).toEqual([expect.objectContaining({ type: windowUpdateType, flag: synFlag })]);
  });
});
