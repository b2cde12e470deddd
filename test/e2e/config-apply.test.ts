// `tollbooth config apply` on a running formation of real processes (issue 11,
// items 1-2): two site agents and an arbitrator, spawned from dist/, with a
// held automatic ticket (ticketA) and an unheld manual one (ticketB). The
// file given to `config apply` adds ticketC, lengthens ticketA's expire and
// removes ticketB. A watcher asks a member for the table every few hundred
// milliseconds through the whole apply and records any read in which
// ticketA's holder or generation is not what it was; at the end `config show`
// must give the new settings at the next versions, the registry's history of
// ticketA its one initial grant and the change, and the holder's sink must
// still have it granted. Then a member restarted with the old file (which now
// differs from the committed config) runs with the committed config and says
// so in `status` and its log, and `config check --against-running` names the
// difference. The time from `config apply` to its exit is printed for
// docs/configuration.md §10.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoopbackFormation, until, type LoopbackMember, memberReadyMsMax } from '../../src/cli/loopback-formation.js';
import type { CommittedConfigData, TicketView } from '../../src/runtime/admin-service.js';
import { callLed, formationWaitMs } from '../support/led-calls.js';

const run = promisify(execFile);
const command = [process.execPath, 'dist/bin/tollbooth.js'];
/** The held ticket's lease: long enough that no restart or apply on a loaded machine outlasts it. */
const leaseS = 20;
/** Pause between two looks at the table, ms. */
const watchEveryMs = 200;
/** Budget of the apply test: the formation's waits and three committed steps. */
const applyTestMs = 3 * formationWaitMs;

describe('config apply on a running formation', () => {
  let f: LoopbackFormation;
  let newConfig: string;

  beforeAll(async () => {
    f = await LoopbackFormation.create({
      sites: 2,
      arbitrators: 1,
      command,
      tickets: [
        { name: 'ticketA', expireS: leaseS, acquireAfterS: 0 },
        { name: 'ticketB', expireS: leaseS, mode: 'manual' },
      ],
    });
    await f.startAll();
    // The file config apply gets: ticketA's expire lengthened, ticketB gone, ticketC added.
    const text = await readFile(f.configPath, 'utf8');
    const blocks = text.split(/(?=^ticket = )/m);
    const [head, a] = [blocks[0]!, blocks.find((b) => b.startsWith('ticket = "ticketA"'))!];
    const changedA = a.replace(`expire = ${leaseS}`, `expire = ${leaseS + 10}`);
    const addedC = a.replace('"ticketA"', '"ticketC"');
    newConfig = join(f.root, 'changed', 'formation.conf');
    await run('mkdir', ['-p', join(f.root, 'changed')]);
    await writeFile(newConfig, head + changedA + addedC);
  }, memberReadyMsMax + 60_000);

  afterAll(async () => {
    await f?.stop();
  });

  const show = async (m: LoopbackMember): Promise<CommittedConfigData> => {
    const r = await callLed(f, m, { op: 'config-show' });
    expect(r.ok, r.message).toBe(true);
    return r.data as CommittedConfigData;
  };

  it('adds a ticket, lengthens a held ticket\'s expire and removes an unheld one; the held ticket never moves', async () => {
    const holder = await until('ticketA granted at one site', formationWaitMs, async () => {
      const at = await f.grantedAt('ticketA');
      return at.length === 1 ? at[0]! : null;
    });
    const other = f.sites.find((s) => s !== holder)!;
    const listed = ((await callLed(f, other, { op: 'list' })).data as TicketView[]).find((v) => v.name === 'ticketA')!;
    expect(listed.holder).toBe(holder.address);
    const before = await show(other);
    expect(before.tickets.map((t) => t.name).sort()).toEqual(['ticketA', 'ticketB']);

    // The watcher: ticketA's holder and generation, as the leader answers them.
    const problems: string[] = [];
    let reads = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const r = await callLed(f, other, { op: 'list' }).catch(() => null);
        const t = (r?.data as TicketView[] | undefined)?.find((v) => v.name === 'ticketA');
        if (t !== undefined) {
          reads += 1;
          if (t.holder !== holder.address || t.generation !== listed.generation) problems.push(`holder ${t.holder} generation ${t.generation}`);
        }
        await new Promise((r2) => setTimeout(r2, watchEveryMs));
      }
    })();

    const dry = await run(command[0]!, [command[1]!, 'config', 'apply', '-c', newConfig, '--socket', other.socket, '--dry-run']);
    expect(dry.stdout).toMatch(/ticket ticketC: added/);
    expect(dry.stdout).toMatch(new RegExp(`ticket ticketA: changed \\(held by ${holder.address.replace(/\./g, '\\.')}: stays there\\)\\n +expire \\(ms\\): ${leaseS * 1000} → ${(leaseS + 10) * 1000}`));
    expect(dry.stdout).toMatch(/ticket ticketB: removed/);
    expect((await show(other)).version).toBe(before.version);

    const started = performance.now();
    const applied = await run(command[0]!, [command[1]!, 'config', 'apply', '-c', newConfig, '--socket', other.socket, '--timeout', '30000']).catch((err: { code: number; stdout: string; stderr: string }) => err);
    const applyMs = Math.round(performance.now() - started);
    watching = false;
    await watcher;
    expect('code' in applied ? applied.code : 0, 'stderr' in applied ? applied.stderr : '').toBe(0);
    expect(applied.stdout).toMatch(/applied: 3 step\(s\) committed/);

    const after = await show(other);
    expect(after.version).toBe(before.version + 3);
    expect(after.tickets.map((t) => t.name).sort()).toEqual(['ticketA', 'ticketC']);
    expect(after.tickets.find((t) => t.name === 'ticketA')).toMatchObject({ leaseDurationMs: (leaseS + 10) * 1000, holder: holder.address, generation: listed.generation });
    expect(problems).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    const history = (await callLed(f, other, { op: 'history', ticket: 'ticketA' })).data as Array<{ change: string }>;
    expect(history.map((h) => h.change)).toEqual(['grant', `change expire ${leaseS * 1000}→${(leaseS + 10) * 1000} ms`]);
    expect((await f.grantedAt('ticketA')).map((m) => m.address)).toEqual([holder.address]);
    // ticketC is placed like an initial grant.
    await until('ticketC granted at one site', formationWaitMs, async () => ((await f.grantedAt('ticketC')).length === 1 ? true : null));
    process.stdout.write(`config apply: 3 steps committed in ${applyMs} ms (${reads} reads of the table, ticketA never moved)\n`);
  }, applyTestMs);

  it('a member restarted with a file that differs from the committed config runs with the committed one and says so', async () => {
    const arb = f.members.find((m) => m.kind === 'arbitrator')!;
    await f.kill(arb, 'SIGTERM');
    f.start(arb); // with f.configPath: the first file, which the apply above has left behind
    await f.waitReady(arb);
    const status = await until('status to name the difference', formationWaitMs, async () => {
      const st = await f.call(arb, { op: 'status' });
      const file = (st.data as { configFile?: { matchesCommitted: boolean; difference: string[] } } | undefined)?.configFile;
      return file !== undefined && !file.matchesCommitted ? file : null;
    });
    // Seen from the committed config, the old file adds ticketB back, removes ticketC and shortens ticketA again.
    expect(status.difference).toEqual([
      expect.stringMatching(/^ticket ticketB: added \(manual, expire 20000 ms/),
      expect.stringMatching(/^ticket ticketC: removed/),
      expect.stringMatching(/^ticket ticketA: changed/),
      `  expire (ms): ${(leaseS + 10) * 1000} → ${leaseS * 1000}`,
    ]);
    expect(await readFile(arb.log, 'utf8')).toMatch(/config file differs from the committed config: running with the committed one/);
    // It runs with the committed tickets: ticketC is in its table, ticketB is not.
    const local = (await f.call(arb, { op: 'list', local: true })).data as TicketView[];
    expect(local.map((t) => t.name).sort()).toEqual(['ticketA', 'ticketC']);
    // --against-running reads the committed config linearizably, through the leader: the restarted member may have
    // been the leader, so wait until one answers for it (until then the check exits 3, no leader: CI at 24e4459).
    await until('a leader to answer config-show through the restarted member', formationWaitMs, async () => ((await f.call(arb, { op: 'config-show' })).ok ? true : null));
    const check = await run(command[0]!, [command[1]!, 'config', 'check', f.configPath, '--against-running', '--socket', arb.socket]).catch((err: { code: number; stdout: string; stderr: string }) => err);
    expect('code' in check ? check.code : 0, `exit code; stderr: ${'stderr' in check ? check.stderr : ''}`).toBe(1);
    expect(check.stdout).toMatch(/differs from the committed config/);
    const same = await run(command[0]!, [command[1]!, 'config', 'check', newConfig, '--against-running', '--socket', arb.socket]);
    expect(same.stdout).toMatch(/matches the committed config/);
  }, 3 * formationWaitMs + memberReadyMsMax);
});
