// Checks the quorum guardian policy (src/core/quorum-guardian.ts) exhaustively
// over small clusters. Every combination of 1–5 corosync voters, each up /
// lost within the grace period / lost past it and fenced / lost past it and
// not fenced, is crossed with 0–3 remote nodes, each online and healthy /
// offline / online but unhealthy (one of the three is never promotable, and
// zones and names are laid out so that zone preference and name order
// disagree with list order), under four configs (target 3 or 5 voters,
// fencing required or not) and two quorum views: the honest one, where
// `quorate` is derived from the live voters as votequorum does, and a
// last_man_standing one where corosync claims quorum whatever the count.
// For every decision it asserts the safety invariants independently of the
// code under test — S5 (after the one-for-one swap, the live voters including
// the promoted remote are a strict majority of the new nodelist), no plan
// without quorum or during a change, never above targetVoters, never a
// non-promotable/offline/unhealthy remote, never an up or not-yet-due member —
// that every refusal's reason is actually true of the state, and that a plan
// is made exactly when a dumb reference (which enumerates every (lost voter,
// remote) swap, rebuilds the nodelist and counts heads) finds an allowed one,
// choosing the same swap. Named scenarios below pin readable cases.
import { describe, expect, it } from 'vitest';
import {
  decideQuorumGuardian,
  quorumAfter,
  type CoreMemberView,
  type GuardianConfig,
  type GuardianDecision,
  type GuardianObservation,
  type RemoteNodeView,
} from '../../../src/core/guardian/quorum-guardian.js';

const nowMs = 1_000_000;
const graceMs = 30_000;

// ---------------------------------------------------------------------------
// The dumb reference: enumerate every swap, rebuild the nodelist, count heads.

interface Swap {
  readonly replace: string;
  readonly with: string;
  readonly votersAfter: number;
}

function referenceSwaps(obs: GuardianObservation, cfg: GuardianConfig): Swap[] {
  if (!cfg.enabled || !obs.quorum.quorate || obs.changeInProgress) return [];
  // Someone live has to carry the change out: a partition of nobody never acts.
  if (!obs.core.some((m) => m.state === 'up') || obs.quorum.totalVotes === 0) return [];
  const swaps: { swap: Swap; key: [string, number, string] }[] = [];
  for (const dead of obs.core) {
    if (dead.state !== 'lost') continue;
    if (dead.lostSinceMs === undefined || obs.nowMs < dead.lostSinceMs + cfg.graceMs) continue;
    if (cfg.requireFencing && !dead.fenced) continue;
    for (const r of obs.remotes) {
      if (!r.online || !r.healthy) continue;
      if (!cfg.promotable.some((p) => p === r.name)) continue;
      if (obs.core.some((m) => m.name === r.name)) continue;
      const after = [
        ...obs.core.filter((m) => m !== dead).map((m) => m.state === 'up'),
        true, // the promoted remote
      ];
      const liveAfter = Math.min(after.filter((x) => x).length, obs.quorum.totalVotes + 1);
      if (after.length > cfg.targetVoters || liveAfter > cfg.targetVoters) continue;
      if (!(2 * liveAfter > after.length)) continue;
      const zoneRank = cfg.preferZones.includes(r.zone) ? cfg.preferZones.indexOf(r.zone) : 99;
      swaps.push({ swap: { replace: dead.name, with: r.name, votersAfter: after.length }, key: [dead.name, zoneRank, r.name] });
    }
  }
  swaps.sort((a, b) => {
    for (let i = 0; i < 3; i++) {
      const x = a.key[i]!;
      const y = b.key[i]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  return swaps.map((s) => s.swap);
}

// ---------------------------------------------------------------------------
// Independent checks of one decision; returns a description of each violation.

function violations(obs: GuardianObservation, cfg: GuardianConfig, d: GuardianDecision): string[] {
  const bad: string[] = [];
  const up = obs.core.filter((m) => m.state === 'up').length;
  const ref = referenceSwaps(obs, cfg);
  if (d.kind === 'plan') {
    if (!obs.quorum.quorate) bad.push('plan without quorum');
    if (obs.changeInProgress) bad.push('plan during a change');
    if (!cfg.enabled) bad.push('plan while disabled');
    const dead = obs.core.find((m) => m.name === d.replace);
    if (dead === undefined) bad.push('replaces a non-member');
    else {
      if (dead.state === 'up') bad.push('replaces an up member');
      if (dead.lostSinceMs === undefined || obs.nowMs - dead.lostSinceMs < cfg.graceMs) bad.push('replaces within grace');
      if (cfg.requireFencing && !dead.fenced) bad.push('replaces an unfenced member');
    }
    const r = obs.remotes.find((x) => x.name === d.with);
    if (r === undefined) bad.push('promotes an unknown remote');
    else if (!r.online || !r.healthy || !cfg.promotable.includes(r.name)) bad.push('promotes an ineligible remote');
    // S5, on the rebuilt nodelist.
    const nodelist = [...obs.core.filter((m) => m.name !== d.replace).map((m) => m.state === 'up'), true];
    const liveAfter = nodelist.filter((x) => x).length;
    if (d.votersAfter !== nodelist.length) bad.push(`votersAfter ${d.votersAfter} ≠ ${nodelist.length}`);
    if (!(2 * liveAfter > nodelist.length)) bad.push(`S5: ${liveAfter} live of ${nodelist.length} after`);
    if (nodelist.length > cfg.targetVoters || liveAfter > cfg.targetVoters) bad.push('exceeds targetVoters');
    if (nodelist.length % 2 !== obs.core.length % 2) bad.push('changes voter parity');
    const best = ref[0];
    if (best === undefined) bad.push('plan where the reference allows none');
    else if (best.replace !== d.replace || best.with !== d.with) {
      bad.push(`chose ${d.replace}→${d.with}, reference ${best.replace}→${best.with}`);
    }
  } else {
    if (ref.length > 0) bad.push(`${d.kind}/${d.reason} where reference allows ${ref[0]!.replace}→${ref[0]!.with}`);
    // The reason must be true of the state.
    const lost = obs.core.filter((m) => m.state === 'lost');
    const due = lost.filter((m) => m.lostSinceMs !== undefined && obs.nowMs - m.lostSinceMs >= cfg.graceMs);
    switch (d.reason) {
      case 'disabled':
        if (cfg.enabled) bad.push('disabled while enabled');
        break;
      case 'no-quorum':
        if (obs.quorum.quorate && up > 0 && 2 * (up + 1) > obs.core.length) bad.push('no-quorum although quorate before and after');
        break;
      case 'change-in-progress':
        if (!obs.changeInProgress) bad.push('change-in-progress without one');
        break;
      case 'nothing-lost':
        if (lost.length > 0) bad.push('nothing-lost with lost members');
        break;
      case 'at-target':
        if (up < cfg.targetVoters && obs.core.length <= cfg.targetVoters) bad.push('at-target below target');
        break;
      case 'grace-not-over':
        if (lost.length === 0 || due.length > 0) bad.push('grace-not-over but none within grace / some due');
        break;
      case 'not-fenced':
        if (!cfg.requireFencing || due.length === 0 || due.some((m) => m.fenced)) bad.push('not-fenced untrue');
        break;
      case 'no-eligible-remote':
        if (obs.remotes.some((r) => r.online && r.healthy && cfg.promotable.includes(r.name))) {
          bad.push('no-eligible-remote with one eligible');
        }
        break;
    }
  }
  return bad;
}

// ---------------------------------------------------------------------------
// State enumeration.

type CoreState = 'up' | 'lost-in-grace' | 'lost-fenced' | 'lost-unfenced';
const coreStates: readonly CoreState[] = ['up', 'lost-in-grace', 'lost-fenced', 'lost-unfenced'];
type RemoteState = 'healthy' | 'offline' | 'unhealthy';
const remoteStates: readonly RemoteState[] = ['healthy', 'offline', 'unhealthy'];

function coreMember(name: string, s: CoreState): CoreMemberView {
  switch (s) {
    case 'up':
      return { name, state: 'up', fenced: false };
    case 'lost-in-grace':
      return { name, state: 'lost', lostSinceMs: nowMs - graceMs + 1, fenced: true };
    case 'lost-fenced':
      return { name, state: 'lost', lostSinceMs: nowMs - graceMs - 5_000, fenced: true };
    case 'lost-unfenced':
      return { name, state: 'lost', lostSinceMs: nowMs - graceMs - 5_000, fenced: false };
  }
}

// r1 is in a non-preferred zone but sorts first by name; r2 is preferred;
// r3 is preferred too but never promotable.
const remoteTemplate = [
  { name: 'r1', zone: 'z2' },
  { name: 'r2', zone: 'z1' },
  { name: 'r3', zone: 'z1' },
] as const;

function remoteNode(i: number, s: RemoteState): RemoteNodeView {
  const t = remoteTemplate[i]!;
  return { name: t.name, zone: t.zone, online: s !== 'offline', healthy: s !== 'unhealthy' };
}

function* combos<T>(values: readonly T[], length: number): Generator<T[]> {
  const total = values.length ** length;
  for (let code = 0; code < total; code++) {
    const out: T[] = [];
    for (let i = 0, c = code; i < length; i++, c = Math.floor(c / values.length)) out.push(values[c % values.length]!);
    yield out;
  }
}

function config(targetVoters: number, requireFencing: boolean): GuardianConfig {
  return { targetVoters, graceMs, promotable: ['r1', 'r2'], preferZones: ['z1'], requireFencing, enabled: true };
}

describe('quorum guardian: exhaustive over small clusters', () => {
  it('keeps S5 and the other invariants, and plans exactly when the reference allows', () => {
    const configs = [config(3, true), config(3, false), config(5, true), config(5, false)];
    const failures: string[] = [];
    let decisions = 0;
    let plans = 0;
    const reasons = new Map<string, number>();
    const check = (obs: GuardianObservation, cfg: GuardianConfig): void => {
      const d = decideQuorumGuardian(obs, cfg);
      decisions++;
      const key = d.kind === 'plan' ? 'plan' : d.reason;
      reasons.set(key, (reasons.get(key) ?? 0) + 1);
      if (d.kind === 'plan') plans++;
      const bad = violations(obs, cfg, d);
      if (bad.length > 0 && failures.length < 20) failures.push(`${JSON.stringify({ obs, cfg, d })}: ${bad.join('; ')}`);
    };
    for (let n = 1; n <= 5; n++) {
      for (const cs of combos(coreStates, n)) {
        // List order differs from name order: the first member is the highest name.
        const core = cs.map((s, i) => coreMember(`node${n - i}`, s));
        const up = cs.filter((s) => s === 'up').length;
        for (let k = 0; k <= 3; k++) {
          for (const rs of combos(remoteStates, k)) {
            const remotes = rs.map((s, i) => remoteNode(i, s));
            const honest = { quorate: 2 * up > n, expectedVotes: n, totalVotes: up };
            // last_man_standing lowered expected_votes: corosync says quorate whatever the count.
            const lms = { quorate: true, expectedVotes: Math.max(up, 1), totalVotes: up };
            for (const cfg of configs) {
              check({ core, remotes, quorum: honest, nowMs, changeInProgress: false }, cfg);
              check({ core, remotes, quorum: lms, nowMs, changeInProgress: false }, cfg);
            }
            check({ core, remotes, quorum: honest, nowMs, changeInProgress: true }, configs[1]!);
            check({ core, remotes, quorum: honest, nowMs, changeInProgress: false }, { ...configs[1]!, enabled: false });
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // Not vacuous: every outcome shows up, plans many times.
    expect(decisions).toBe(1364 * 40 * 10);
    expect(plans).toBeGreaterThan(10_000);
    for (const r of [
      'plan',
      'disabled',
      'no-quorum',
      'change-in-progress',
      'nothing-lost',
      'at-target',
      'grace-not-over',
      'not-fenced',
      'no-eligible-remote',
    ]) {
      expect(reasons.get(r) ?? 0, r).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------
// Named scenarios.

const up = (name: string): CoreMemberView => ({ name, state: 'up', fenced: false });
const dead = (name: string, agoMs: number, fenced = true): CoreMemberView => ({
  name,
  state: 'lost',
  lostSinceMs: nowMs - agoMs,
  fenced,
});
const remote = (name: string, zone = 'z1', online = true, healthy = true): RemoteNodeView => ({ name, zone, online, healthy });

function observe(core: CoreMemberView[], remotes: RemoteNodeView[], changeInProgress = false): GuardianObservation {
  const live = core.filter((m) => m.state === 'up').length;
  return {
    core,
    remotes,
    quorum: { quorate: 2 * live > core.length, expectedVotes: core.length, totalVotes: live },
    nowMs,
    changeInProgress,
  };
}

const cfg: GuardianConfig = {
  targetVoters: 3,
  graceMs,
  promotable: ['remote1', 'remote2', 'remoteA', 'remoteB', 'node2'],
  preferZones: ['z1'],
  requireFencing: true,
  enabled: true,
};

describe('quorum guardian: scenarios', () => {
  it('replaces a dead, fenced voter of three with a healthy remote (the live lab demo)', () => {
    const d = decideQuorumGuardian(observe([up('node1'), up('node2'), dead('node3', 60_000)], [remote('remote1')]), cfg);
    expect(d).toMatchObject({ kind: 'plan', replace: 'node3', with: 'remote1', votersAfter: 3 });
  });

  it('waits out the grace period; exactly graceMs counts as over', () => {
    const within = decideQuorumGuardian(observe([up('node1'), up('node2'), dead('node3', graceMs - 1)], [remote('remote1')]), cfg);
    expect(within).toMatchObject({ kind: 'wait', reason: 'grace-not-over' });
    const at = decideQuorumGuardian(observe([up('node1'), up('node2'), dead('node3', graceMs)], [remote('remote1')]), cfg);
    expect(at).toMatchObject({ kind: 'plan', replace: 'node3' });
  });

  it('waits for fencing when it is required, not otherwise', () => {
    const obs = observe([up('node1'), up('node2'), dead('node3', 60_000, false)], [remote('remote1')]);
    expect(decideQuorumGuardian(obs, cfg)).toMatchObject({ kind: 'wait', reason: 'not-fenced' });
    expect(decideQuorumGuardian(obs, { ...cfg, requireFencing: false })).toMatchObject({ kind: 'plan', replace: 'node3' });
  });

  it('never acts from a partition without quorum', () => {
    const d = decideQuorumGuardian(observe([up('node1'), dead('node2', 60_000), dead('node3', 60_000)], [remote('remote1')]), cfg);
    expect(d).toMatchObject({ kind: 'wait', reason: 'no-quorum' });
  });

  it('checks S5 itself when corosync claims quorum under last_man_standing', () => {
    const core = [up('node1'), dead('node2', 60_000), dead('node3', 60_000), dead('node4', 60_000), dead('node5', 60_000)];
    const lms = { quorate: true, expectedVotes: 1, totalVotes: 1 };
    const d = decideQuorumGuardian({ core, remotes: [remote('remote1')], quorum: lms, nowMs, changeInProgress: false }, { ...cfg, targetVoters: 5 });
    // 2 live of 5 after the swap would be no quorum.
    expect(d).toMatchObject({ kind: 'wait', reason: 'no-quorum' });
    // With 2 of 3 lost, 2 live of 3 after the swap is a quorum: go ahead.
    const three = [up('node1'), dead('node2', 60_000), dead('node3', 60_000)];
    const ok = decideQuorumGuardian({ core: three, remotes: [remote('remote1')], quorum: lms, nowMs, changeInProgress: false }, cfg);
    expect(ok).toMatchObject({ kind: 'plan', replace: 'node2', with: 'remote1', votersAfter: 3 });
  });

  it('prefers a remote in a preferred zone, then the first by name', () => {
    const core = [up('node1'), up('node2'), dead('node3', 60_000)];
    expect(decideQuorumGuardian(observe(core, [remote('remoteA', 'z2'), remote('remoteB', 'z1')]), cfg)).toMatchObject({
      kind: 'plan',
      with: 'remoteB',
    });
    expect(decideQuorumGuardian(observe(core, [remote('remoteB', 'z1'), remote('remoteA', 'z1')]), cfg)).toMatchObject({
      kind: 'plan',
      with: 'remoteA',
    });
  });

  it('never picks a non-promotable, offline or unhealthy remote, nor one named like a member', () => {
    const core = [up('node1'), up('node2'), dead('node3', 60_000)];
    const remotes = [remote('stranger'), remote('remote1', 'z1', false), remote('remote2', 'z1', true, false), remote('node2')];
    expect(decideQuorumGuardian(observe(core, remotes), cfg)).toMatchObject({ kind: 'wait', reason: 'no-eligible-remote' });
  });

  it('does nothing when at target, with nothing lost, while disabled or during a change', () => {
    const five = [up('node1'), up('node2'), up('node3'), dead('node4', 60_000), dead('node5', 60_000)];
    expect(decideQuorumGuardian(observe(five, [remote('remote1')]), cfg)).toMatchObject({ kind: 'none', reason: 'at-target' });
    const all = [up('node1'), up('node2'), up('node3')];
    expect(decideQuorumGuardian(observe(all, [remote('remote1')]), cfg)).toMatchObject({ kind: 'none', reason: 'nothing-lost' });
    const one = [up('node1'), up('node2'), dead('node3', 60_000)];
    expect(decideQuorumGuardian(observe(one, [remote('remote1')]), { ...cfg, enabled: false })).toMatchObject({
      kind: 'none',
      reason: 'disabled',
    });
    expect(decideQuorumGuardian(observe(one, [remote('remote1')], true), cfg)).toMatchObject({
      kind: 'wait',
      reason: 'change-in-progress',
    });
  });

  it('replaces one voter at a time, the first lost by name', () => {
    const core = [up('node1'), up('node2'), up('node3'), dead('node5', 60_000), dead('node4', 60_000)];
    const d = decideQuorumGuardian(observe(core, [remote('remote1'), remote('remote2')]), { ...cfg, targetVoters: 5 });
    expect(d).toMatchObject({ kind: 'plan', replace: 'node4', with: 'remote1', votersAfter: 5 });
  });

  it('quorumAfter is votequorum arithmetic: floor(n/2)+1', () => {
    expect(quorumAfter(2, 3)).toEqual({ votesNeeded: 2, quorate: true });
    expect(quorumAfter(1, 2)).toEqual({ votesNeeded: 2, quorate: false });
    expect(quorumAfter(2, 4)).toEqual({ votesNeeded: 3, quorate: false });
    expect(quorumAfter(3, 5)).toEqual({ votesNeeded: 3, quorate: true });
    expect(quorumAfter(0, 0).quorate).toBe(false);
  });
});
