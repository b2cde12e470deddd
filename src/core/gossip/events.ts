// What a SwimNode hands its host with ready(): the messages to send and the
// events to act on (DESIGN.md §6: a pure core's output is a batch).

import type { MemberId } from '../types.js';
import type { Rumor, SwimEnvelope, SwimRejectReason, SwimState } from './messages.js';

export type SwimEvent =
  | {
      readonly type: 'member-state';
      readonly member: MemberId;
      readonly previous: SwimState;
      readonly state: SwimState;
      readonly incarnation: number;
      /** Who made the claim that changed our view (this member for its own suspicions and deaths). */
      readonly origin: MemberId;
    }
  /** This member was suspected (or declared dead) at `accusedIncarnation` by `origin` and refuted. */
  | { readonly type: 'refuted'; readonly incarnation: number; readonly accusedIncarnation: number; readonly origin: MemberId }
  /** A rumor newer than any this member had, from another member: the host applies it. */
  | { readonly type: 'rumor'; readonly rumor: Rumor; readonly from: MemberId }
  | { readonly type: 'rejected'; readonly from: MemberId; readonly item: 'message' | 'update' | 'rumor'; readonly reason: SwimRejectReason }
  /** A gap between inputs long enough to mean this process was stopped (SwimNode.onStall; docs/protocol.md §7, pauses). */
  | { readonly type: 'stalled'; readonly gapMs: number };

export interface SwimReady {
  readonly messages: readonly SwimEnvelope[];
  readonly events: readonly SwimEvent[];
}
