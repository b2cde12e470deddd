// Network faults of the soak, inside the members' own network namespaces
// (test/live/lab.ts makes them): nftables for dropped links and random loss,
// tc for a slow link (tbf) and, where the kernel has it, netem delay.
//
// Drops are made on the receiving side (the input hook of the member a
// packet is for, matching the sender's address), so that the sender sees what
// a broken network shows it — silence — and not the EPERM a local output drop
// returns. A directed drop a→b loses a's packets to b and lets b's reach a:
// two of them make a partition. Loss p% at m drops p% of what m receives and
// p% of what every other member receives from m. Each member's table `inet
// tollbooth_soak` is rewritten whole (one `nft -f`, atomic) from the current
// state, and deleted by clear().
import { must, run } from '../live/lab/run.js';

export interface NetMember {
  readonly name: string;
  readonly address: string;
  readonly netns: string;
}

const table = 'tollbooth_soak';
/** The lab's WAN interface in every member namespace. */
const ifname = 'wan0';

export class SoakNet {
  readonly #members: ReadonlyMap<string, NetMember>;
  /** Directed drops as `from\0to`. */
  readonly #drops = new Set<string>();
  readonly #loss = new Map<string, number>();
  readonly #shaped = new Set<string>();

  constructor(members: readonly NetMember[]) {
    this.#members = new Map(members.map((m) => [m.name, m]));
  }

  /** Whether this kernel has tc netem (this machine's does not: no sch_netem). */
  static async netemAvailable(member: NetMember): Promise<boolean> {
    const r = await run(['ip', 'netns', 'exec', member.netns, 'tc', 'qdisc', 'add', 'dev', ifname, 'root', 'netem', 'delay', '1ms']);
    if (r.code !== 0) return false;
    await run(['ip', 'netns', 'exec', member.netns, 'tc', 'qdisc', 'del', 'dev', ifname, 'root']);
    return true;
  }

  async drop(from: string, to: readonly string[]): Promise<void> {
    for (const t of to) if (t !== from) this.#drops.add(`${from}\0${t}`);
    await this.#apply();
  }

  async partition(a: readonly string[], b: readonly string[]): Promise<void> {
    for (const x of a) for (const y of b) this.#drops.add(`${x}\0${y}`).add(`${y}\0${x}`);
    await this.#apply();
  }

  async isolate(member: string): Promise<void> {
    const others = [...this.#members.keys()].filter((n) => n !== member);
    await this.partition([member], others);
  }

  async loss(member: string, percent: number): Promise<void> {
    this.#loss.set(member, percent);
    await this.#apply();
  }

  async slowLink(member: string, rateKbit: number): Promise<void> {
    const m = this.#member(member);
    this.#shaped.add(member);
    await must(['ip', 'netns', 'exec', m.netns, 'tc', 'qdisc', 'replace', 'dev', ifname, 'root', 'tbf', 'rate', `${rateKbit}kbit`, 'burst', '16kbit', 'latency', '400ms']);
  }

  async delay(member: string, delayMs: number, jitterMs: number): Promise<void> {
    const m = this.#member(member);
    this.#shaped.add(member);
    await must(['ip', 'netns', 'exec', m.netns, 'tc', 'qdisc', 'replace', 'dev', ifname, 'root', 'netem', 'delay', `${delayMs}ms`, `${jitterMs}ms`]);
  }

  /** Removes every drop, loss rule and qdisc. */
  async clear(): Promise<void> {
    this.#drops.clear();
    this.#loss.clear();
    for (const name of this.#shaped) {
      // rc ignored: the qdisc may be gone with a namespace already.
      await run(['ip', 'netns', 'exec', this.#member(name).netns, 'tc', 'qdisc', 'del', 'dev', ifname, 'root']);
    }
    this.#shaped.clear();
    for (const m of this.#members.values()) await run(['ip', 'netns', 'exec', m.netns, 'nft', 'delete', 'table', 'inet', table]);
  }

  #member(name: string): NetMember {
    const m = this.#members.get(name);
    if (m === undefined) throw new Error(`soak net: no member ${name}`);
    return m;
  }

  async #apply(): Promise<void> {
    for (const m of this.#members.values()) {
      const rules: string[] = [];
      for (const key of this.#drops) {
        const [from, to] = key.split('\0') as [string, string];
        if (to === m.name) rules.push(`    ip saddr ${this.#member(from).address} drop`);
      }
      const own = this.#loss.get(m.name);
      if (own !== undefined) rules.push(`    iifname "${ifname}" numgen random mod 100 < ${own} drop`);
      for (const [lossy, percent] of this.#loss) {
        if (lossy !== m.name) rules.push(`    ip saddr ${this.#member(lossy).address} numgen random mod 100 < ${percent} drop`);
      }
      let script = `table inet ${table}\ndelete table inet ${table}\n`;
      if (rules.length > 0) {
        script += `table inet ${table} {\n  chain input {\n    type filter hook input priority 0; policy accept;\n${rules.join('\n')}\n  }\n}\n`;
      }
      await must(['ip', 'netns', 'exec', m.netns, 'nft', '-f', '-'], { input: script });
    }
  }
}
