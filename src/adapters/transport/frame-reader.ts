// The stream framing of our protocol, read side: frames behind unsigned
// LEB128 varint lengths (length-prefix.ts writes them), parsed synchronously
// from the chunks a stream delivers (issue 15, item 1).
//
// Why not lpStream. @libp2p/utils' lpStream reads a frame's length one byte
// at a time, each byte an awaited read with a fresh promise, a race against
// the signal and a Uint8ArrayList, then the body as one more awaited read:
// for an idle member the largest single share of its CPU (~17 %,
// docs/benchmarks.md). Chunks come to us whole and in order through the
// stream's 'message' event; this reader takes each chunk as it comes and
// hands every complete frame in it to `onFrame` in the same turn, with no
// promise, no timer and no copy when a frame lies inside one chunk (a view
// of it; a frame split over chunks is gathered into one buffer of its own
// size, so a long frame in many small chunks costs O(its size)).
//
// Limits, as lpStream's with the options the transport gave it (its
// framingErrorNames): a length above `frameBytesMax` is refused as soon as
// its varint is complete, before any of the body is held
// ('frame-too-long'); a varint longer than the varint of `frameBytesMax`
// needs is refused at its first byte past that length, whatever follows
// ('length-too-long'); and bytes held unparsed (a partial frame, and the
// rest of a chunk while reading is paused) above `bufferedBytesMax` are
// refused ('buffer-overflow'). A refusal is final: the reader takes nothing
// more and the caller aborts the stream.
//
// Pausing. `onFrame` answers 'next' to go on, 'pause' to stop after this
// frame (the transport's backpressure on a peer over its budget: it pauses
// the stream and calls resume() later; the rest of the chunk waits here) or
// 'stop' when the stream is being dropped. Pure and synchronous: no stream,
// clock or timer here; the transport binds it to a stream
// (libp2p-transport.ts #readStream).
import { varintBytes } from './length-prefix.js';

/** What the frame consumer wants after a frame. */
export type FrameVerdict = 'next' | 'pause' | 'stop';

/** Why a stream's framing was refused: each is a reject 'oversize' in the transport. */
export type FramingFault = 'frame-too-long' | 'length-too-long' | 'buffer-overflow';

export interface FrameReaderOptions {
  /** The largest frame body accepted, in bytes. */
  readonly frameBytesMax: number;
  /** Bytes held unparsed at most (a partial frame, and a paused chunk's rest). At least frameBytesMax + its varint. */
  readonly bufferedBytesMax: number;
  /** Called with each complete frame, in order; the frame may be a view of a chunk, valid as long as the chunk. */
  readonly onFrame: (frame: Uint8Array) => FrameVerdict;
}

/** The state of a reader after a push() or resume(). */
export type FrameReaderState =
  | { readonly state: 'reading' }
  | { readonly state: 'paused' }
  | { readonly state: 'stopped' }
  | { readonly state: 'refused'; readonly fault: FramingFault; readonly detail: string };

/** A list of byte chunks, as libp2p's Uint8ArrayList is: iterable over its Uint8Arrays. */
export type Chunk = Uint8Array | Iterable<Uint8Array>;

export class FrameReader {
  readonly #frameBytesMax: number;
  readonly #lengthBytesMax: number;
  readonly #bufferedBytesMax: number;
  readonly #onFrame: (frame: Uint8Array) => FrameVerdict;
  #state: FrameReaderState = { state: 'reading' };
  // The length being read: its value so far, the bytes of it seen, the multiplier of the next byte.
  #lengthValue = 0;
  #lengthBytes = 0;
  #lengthScale = 1;
  /** The body being gathered over several chunks, and how much of it is filled; null between frames. */
  #body: Uint8Array | null = null;
  #bodyFilled = 0;
  /** Chunks (or their rests) not yet parsed because reading is paused. */
  readonly #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(options: FrameReaderOptions) {
    if (!Number.isSafeInteger(options.frameBytesMax) || options.frameBytesMax < 0) {
      throw new RangeError(`frameBytesMax must be a non-negative safe integer, got ${options.frameBytesMax}`);
    }
    this.#frameBytesMax = options.frameBytesMax;
    this.#lengthBytesMax = varintBytes(options.frameBytesMax);
    if (!Number.isSafeInteger(options.bufferedBytesMax) || options.bufferedBytesMax < options.frameBytesMax + this.#lengthBytesMax) {
      throw new RangeError(`bufferedBytesMax must hold a whole frame (${options.frameBytesMax + this.#lengthBytesMax} bytes), got ${options.bufferedBytesMax}`);
    }
    this.#bufferedBytesMax = options.bufferedBytesMax;
    this.#onFrame = options.onFrame;
  }

  get state(): FrameReaderState {
    return this.#state;
  }

  /** Bytes held and not yet handed out: a partial length or body, and chunks held while paused. */
  get bufferedBytes(): number {
    return this.#lengthBytes + this.#bodyFilled + this.#heldBytes;
  }

  /** Parses a chunk (a Uint8Array, or a list of them) now, or holds it while paused. Nothing after a stop or a refusal. */
  push(chunk: Chunk): FrameReaderState {
    const parts = chunk instanceof Uint8Array ? [chunk] : chunk;
    for (const part of parts) {
      if (this.#state.state === 'stopped' || this.#state.state === 'refused') break;
      if (part.byteLength === 0) continue;
      if (this.#state.state === 'paused') this.#hold(part);
      else this.#parse(part);
    }
    return this.#state;
  }

  /** Goes on after a 'pause': parses what was held, in order (it may pause again). */
  resume(): FrameReaderState {
    if (this.#state.state !== 'paused') return this.#state;
    this.#state = { state: 'reading' };
    // Taken out whole: a part that pauses again holds its rest first, and the parts after it follow in order.
    const held = this.#held.splice(0);
    this.#heldBytes = 0;
    for (const part of held) {
      const now = this.#state.state as FrameReaderState['state'];
      if (now === 'reading') this.#parse(part);
      else if (now === 'paused') this.#hold(part);
      else break;
    }
    return this.#state;
  }

  /** Takes nothing more (the stream is being dropped) and lets go of what is held. */
  stop(): void {
    if (this.#state.state !== 'refused') this.#state = { state: 'stopped' };
    this.#release();
  }

  #hold(part: Uint8Array): void {
    this.#held.push(part);
    this.#heldBytes += part.byteLength;
    this.#checkBuffered();
  }

  #checkBuffered(): void {
    const held = this.bufferedBytes;
    if (held > this.#bufferedBytesMax) this.#refuse('buffer-overflow', `read buffer overflow: ${held} bytes unread > ${this.#bufferedBytesMax}`);
  }

  #refuse(fault: FramingFault, detail: string): void {
    this.#state = { state: 'refused', fault, detail };
    this.#release();
  }

  #release(): void {
    this.#held.length = 0;
    this.#heldBytes = 0;
    this.#body = null;
    this.#bodyFilled = 0;
    this.#lengthValue = 0;
    this.#lengthBytes = 0;
    this.#lengthScale = 1;
  }

  /** Parses `part` while reading; holds its rest if a frame asks for a pause. */
  #parse(part: Uint8Array): void {
    let at = 0;
    const end = part.byteLength;
    while (at < end) {
      if (this.#state.state !== 'reading') {
        if (this.#state.state === 'paused') this.#hold(at === 0 ? part : part.subarray(at));
        return;
      }
      if (this.#body === null) {
        // The length: one varint byte at a time (at most #lengthBytesMax of them).
        const byte = part[at]!;
        at += 1;
        this.#lengthValue += (byte & 0x7f) * this.#lengthScale;
        this.#lengthScale *= 0x80;
        this.#lengthBytes += 1;
        if ((byte & 0x80) !== 0) {
          if (this.#lengthBytes >= this.#lengthBytesMax) {
            return this.#refuse('length-too-long', `frame length varint longer than ${this.#lengthBytesMax} bytes (frames are at most ${this.#frameBytesMax} bytes)`);
          }
          continue;
        }
        const length = this.#lengthValue;
        this.#lengthValue = 0;
        this.#lengthBytes = 0;
        this.#lengthScale = 1;
        if (length > this.#frameBytesMax) return this.#refuse('frame-too-long', `frame length ${length} > ${this.#frameBytesMax}`);
        if (end - at >= length) {
          // The whole frame is in this chunk: a view, no copy.
          const frame = part.subarray(at, at + length);
          at += length;
          this.#deliver(frame);
          continue;
        }
        this.#body = new Uint8Array(length);
        this.#bodyFilled = 0;
      }
      // Gathering a body that spans chunks.
      const body = this.#body;
      const take = Math.min(body.byteLength - this.#bodyFilled, end - at);
      body.set(part.subarray(at, at + take), this.#bodyFilled);
      this.#bodyFilled += take;
      at += take;
      if (this.#bodyFilled === body.byteLength) {
        this.#body = null;
        this.#bodyFilled = 0;
        this.#deliver(body);
      }
    }
  }

  #deliver(frame: Uint8Array): void {
    const verdict = this.#onFrame(frame);
    if (this.#state.state !== 'reading') return; // stopped from inside onFrame
    if (verdict === 'pause') this.#state = { state: 'paused' };
    else if (verdict === 'stop') this.stop();
  }
}
