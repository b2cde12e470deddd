// A committed entry applies alike on every member and on every replay: the
// state machine may read only what the log says up to that entry. These tests
// start a member from a store whose log holds a `ticket-change` whose weights
// name a site and, right after it, a configuration without that site (a
// forced removal, docs/operations.md §8, or any later member-remove). On its
// first apply the change fitted (the site was a member); replayed after a
// restart, the member already holds the later configuration. Checked against
// that one, the change was refused on replay only (simulator seed 599): the
// member kept the old, longer lease duration while the leader that answered
// its renewals by index used the new one, so the holder's lease outlived the
// leader's view of it and the ticket was granted elsewhere beside it (S1).
//
// The last test starts a member from nothing and restarts it from what it
// stored, with its file edited in between as the runbook has the admin do
// after a replace (docs/operations.md §8): the index-0 state must come from the
// store, written at the first start, not from the edited file (simulator seed
// 780: a store without it replayed a ticket-change whose weights named the
// replaced site onto the edited file's members, and refused it alone).
import { describe, expect, it } from 'vitest';
import { defaultLimits, type CoreConfig } from '../../src/core/config.js';
import { bootstrapSnapshot, Member } from '../../src/core/member.js';
import type { Entry, EntryData } from '../../src/core/messages.js';
import { SeededRandom } from '../../src/core/random.js';
import type { CoreEvent } from '../../src/core/ready.js';
import { index, memberId, ms, term, type TicketDef } from '../../src/core/types.js';
import { snapshotCodec } from '../../src/wire/snapshot-codec.js';
import { arb, siteA, siteB, testMembers, testTiming } from '../support/core-formation.js';
import { emptyRaftStore, loadFrom, persistInto, type RaftStore } from '../support/raft-store.js';

const before: TicketDef = { name: 'db', mode: 'automatic', leaseDurationMs: 20_000, acquireAfterMs: 0, revokeLeadMs: 500, weights: {} };
/** The change: half the lease, and a weight for site-b (which the next entry removes). */
const changed: TicketDef = { ...before, leaseDurationMs: 10_000, weights: { [siteB]: 5 } };

function config(): CoreConfig {
  return { self: siteA, members: testMembers, tickets: [before], timing: testTiming, limits: defaultLimits };
}

const cause = { by: 'admin', commandId: 'c1', force: false } as const;

/** A store of site-a: the change at index 1, site-b removed at index 2 (forced: site-a alone carries on), both committed. */
function storeWithChangeThenRemoval(): { entries: Entry[]; commit: number } {
  const data: EntryData[] = [
    { type: 'ticket-change', def: changed, cause },
    { type: 'config', members: testMembers.filter((m) => m.id !== siteB && m.id !== arb), forced: { removed: [siteB, arb], commandId: 'forced-1' } },
  ];
  return { entries: data.map((d, i) => ({ index: index(i + 1), term: term(1), data: d })), commit: 2 };
}

function start(entries: readonly Entry[], commit: number): { member: Member; events: CoreEvent[] } {
  const member = new Member(config(), {
    now: ms(1000),
    random: new SeededRandom(1),
    snapshotCodec,
    persisted: { hardState: { term: term(1), votedFor: null, commit: index(commit) }, snapshot: bootstrapSnapshot(config()), entries },
  });
  const events: CoreEvent[] = [];
  while (member.hasReady()) {
    const r = member.ready();
    events.push(...r.events);
    member.advance(r);
  }
  return { member, events };
}

describe('replaying a committed ticket-change after a later configuration (seed 599)', () => {
  it('applies the change as it applied first: checked against the members at its index, not the latest configuration', () => {
    const { entries, commit } = storeWithChangeThenRemoval();
    // First apply: only the change is in the log (site-b still a member).
    const first = start(entries.slice(0, 1), 1);
    expect(first.member.ticket('db')?.def).toEqual(changed);
    // Replay with the removal appended after it: the same outcome.
    const replay = start(entries, commit);
    const applied = replay.events.find((e): e is Extract<CoreEvent, { type: 'applied' }> => e.type === 'applied' && e.index === 1);
    expect(applied, 'the change applied on replay').toMatchObject({ ok: true });
    expect(replay.member.ticket('db')?.def.leaseDurationMs).toBe(10_000);
    expect(replay.member.ticket('db')?.def).toEqual(changed);
  });

  it('still refuses a change that names a member the configuration at its index does not have', () => {
    const { entries } = storeWithChangeThenRemoval();
    // The same change proposed after the removal (index 3): site-b is no member there.
    const late: Entry = { index: index(3), term: term(1), data: { type: 'ticket-change', def: changed, cause } };
    const { member, events } = start([...entries, late], 3);
    const applied = events.find((e): e is Extract<CoreEvent, { type: 'applied' }> => e.type === 'applied' && e.index === 3);
    expect(applied).toMatchObject({ ok: false });
    expect(applied?.reason).toContain(`weights.${siteB}: names no member`);
    // Index 1's change stands: the table keeps it.
    expect(member.ticket('db')?.def).toEqual(changed);
  });
});

describe("a member's first start stores its index-0 state (seed 780)", () => {
  const siteC = memberId('site-c');
  /** The file after `member replace site-b site-c`, edited as the runbook says: site-c where site-b was. */
  function editedConfig(): CoreConfig {
    return { ...config(), members: testMembers.map((m) => (m.id === siteB ? { id: siteC, kind: 'site' as const } : m)) };
  }

  /** Runs a member's Ready batches into `store`, as a host does; returns the events. */
  function drain(member: Member, store: RaftStore): CoreEvent[] {
    const events: CoreEvent[] = [];
    while (member.hasReady()) {
      const r = member.ready();
      persistInto(store, r.persist);
      events.push(...r.events);
      member.advance(r);
    }
    return events;
  }

  it('writes the bootstrap snapshot with its first persist, and a restart with an edited file replays onto it', () => {
    const store = emptyRaftStore();
    const first = new Member(config(), { now: ms(1000), random: new SeededRandom(1), snapshotCodec });
    drain(first, store);
    expect(store.snapshot, 'the index-0 state is in the store after the first Ready').toEqual(bootstrapSnapshot(config()));

    // The formation then committed the change (weights naming site-b) and the replace of site-b by site-c.
    const replaced = testMembers.map((m) => (m.id === siteB ? { id: siteC, kind: 'site' as const } : m));
    const log: EntryData[] = [
      { type: 'ticket-change', def: changed, cause },
      { type: 'config', members: replaced },
    ];
    log.forEach((data, i) => store.entries.set(i + 1, { index: index(i + 1), term: term(1), data }));
    store.hardState = { ...store.hardState!, term: term(1), commit: index(log.length) };

    const restarted = new Member(editedConfig(), { now: ms(5000), random: new SeededRandom(2), snapshotCodec, persisted: loadFrom(store)! });
    const events = drain(restarted, store);
    const applied = events.find((e): e is Extract<CoreEvent, { type: 'applied' }> => e.type === 'applied' && e.index === 1);
    expect(applied, 'the change applies on replay, as it did everywhere').toMatchObject({ ok: true });
    expect(restarted.ticket('db')?.def).toEqual(changed);
    expect(restarted.status().members.map((m) => m.id)).toEqual(replaced.map((m) => m.id));
  });
});
