// Real Members on virtual time, joined by an in-memory network that delivers
// every message 1 ms after it was sent: the hand-driven formation of the core
// tests that change membership (test/core/membership.test.ts,
// test/core/forced-removal.test.ts). Effects are confirmed at once: these
// tests are about the registry, not the CIB. Nothing sleeps.
import type { CoreConfig } from '../../src/core/config.js';
import { Member, type MemberInit } from '../../src/core/member.js';
import type { Envelope } from '../../src/core/messages.js';
import { SeededRandom } from '../../src/core/random.js';
import type { AdminCommand, CoreEvent } from '../../src/core/ready.js';
import { defaultRules, type MemberRules } from '../../src/core/rules.js';
import { ms, type MemberId } from '../../src/core/types.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { emptyRaftStore, loadFrom, persistInto, type RaftStore } from './raft-store.js';

export type CommandResult = Extract<CoreEvent, { type: 'command-result' }>;

export interface VirtualNode {
  member: Member;
  store: RaftStore;
  /** Stopped: receives nothing and does not tick. */
  down: boolean;
}

export class VirtualNet {
  now = 0;
  readonly nodes = new Map<MemberId, VirtualNode>();
  readonly events: Array<{ at: MemberId; e: CoreEvent }> = [];
  /** Every message sent, with the virtual time it was sent at. */
  readonly sent: Array<{ now: number; env: Envelope }> = [];
  /** Members cut off from every other (they run on, alone). */
  readonly isolated = new Set<MemberId>();
  /** Messages the network loses (the links a member is still opening when it starts, say). */
  drop: (env: Envelope) => boolean = () => false;
  private queue: Array<{ at: number; env: Envelope }> = [];

  /**
   * Starts `config.self` on `store`, from what it persisted there (an empty
   * store: a first start, or with `freshIncarnation` a member whose store was
   * lost), replacing a running member of that id.
   */
  start(config: CoreConfig, seed: number, store: RaftStore = emptyRaftStore(), opts: { rules?: MemberRules; freshIncarnation?: number } = {}): void {
    const persisted = loadFrom(store);
    const init: MemberInit = {
      now: ms(this.now),
      random: new SeededRandom(seed),
      snapshotCodec,
      ...(persisted === undefined ? {} : { persisted }),
      ...(opts.freshIncarnation === undefined ? {} : { freshIncarnation: opts.freshIncarnation }),
    };
    this.nodes.set(config.self, { member: new Member(config, init, opts.rules ?? defaultRules), store, down: false });
    this.drain(config.self);
  }

  member(id: MemberId): Member {
    return this.nodes.get(id)!.member;
  }

  /** The command's result if it came at once (a forced removal's always does; a proposal's after commit). */
  command(id: MemberId, cmd: AdminCommand): CommandResult | undefined {
    this.member(id).command(cmd, ms(this.now));
    this.drain(id);
    return this.result(cmd.id);
  }

  /** Delivers a message 1 ms from now as if the network had carried it (a late or duplicated one). */
  inject(env: Envelope): void {
    this.queue.push({ at: this.now + 1, env });
  }

  result(id: string): CommandResult | undefined {
    return this.events.map((x) => x.e).find((e): e is CommandResult => e.type === 'command-result' && e.id === id);
  }

  run(untilMs: number): void {
    for (; this.now < untilMs; this.now += 1) {
      const due = this.queue.filter((q) => q.at <= this.now);
      this.queue = this.queue.filter((q) => q.at > this.now);
      for (const { env } of due) {
        const n = this.nodes.get(env.to);
        if (n === undefined || n.down || this.drop(env) || (env.from !== env.to && (this.isolated.has(env.from) || this.isolated.has(env.to)))) continue;
        n.member.step(env, ms(this.now));
        this.drain(env.to);
      }
      for (const [id, n] of this.nodes) {
        if (n.down || n.member.nextDeadline() > this.now) continue;
        n.member.tick(ms(this.now));
        this.drain(id);
      }
    }
  }

  private drain(id: MemberId): void {
    const n = this.nodes.get(id)!;
    while (n.member.hasReady()) {
      const r = n.member.ready();
      persistInto(n.store, r.persist);
      for (const env of r.messages) {
        this.queue.push({ at: this.now + 1, env });
        this.sent.push({ now: this.now, env });
      }
      for (const e of r.events) this.events.push({ at: id, e });
      for (const eff of r.effects) n.member.report({ type: 'effect-result', id: eff.id, ok: true }, ms(this.now));
      n.member.advance(r);
    }
  }
}
