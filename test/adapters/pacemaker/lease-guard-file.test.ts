import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuardFileError, LeaseGuardFile, readGuardFile } from '../../../src/adapters/pacemaker/lease-guard-file.js';

let dir = '';
afterEach(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
  dir = '';
});

async function fresh(): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'lease-guard-'));
  return join(dir, 'lease-guard');
}

describe('the lease guard record', () => {
  it('reports an extension skipped when its write lands after the old deadline (issue 12: the stranded ticket)', async () => {
    // The guard process reads the record when a deadline comes and revokes if it
    // still finds that deadline: a write that becomes durable after the old
    // deadline may have lost that race. The clock reads 9 s when the agent asks
    // and 10.5 s once the write is durable, past the old deadline of 10 s.
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.arm('a', 3, 10_000);
    await g.arm('b', 3, 20_000);
    const reads: number[] = [];
    const clock = (): number => {
      const t = reads.length === 0 ? 9_000 : 10_500;
      reads.push(t);
      return t;
    };
    const skipped = await g.extend(
      [
        { ticket: 'a', generation: 3, revokeBy: 15_000 },
        { ticket: 'b', generation: 3, revokeBy: 25_000 },
      ],
      clock,
    );
    expect(reads).toEqual([9_000, 10_500]);
    expect(skipped).toEqual(['a']); // b's old deadline (20 s) had not passed when the write landed
    expect(g.get('b')).toEqual({ generation: 3, revokeBy: 25_000 });
    // The record holds the later deadline for a too: the core writes a's grant again in full, which re-arms it.
    expect((await readGuardFile(path, 'boot-1')).get('a')).toEqual({ generation: 3, revokeBy: 15_000 });
  });

  it('tells which deadlines a write moved later: not those already as late, not skipped ones', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.arm('a', 3, 10_000);
    await g.arm('b', 3, 20_000);
    await g.arm('c', 3, 8_000);
    const r = await g.extendMoved(
      [
        { ticket: 'a', generation: 3, revokeBy: 15_000 }, // moved
        { ticket: 'b', generation: 3, revokeBy: 20_000 }, // as late already
        { ticket: 'c', generation: 3, revokeBy: 30_000 }, // its deadline passed before the write: skipped
        { ticket: 'a', generation: 3, revokeBy: 12_000 }, // the same ticket again, earlier: the record keeps 15 s
      ],
      () => 9_000,
    );
    expect(r.skipped).toEqual(['c']);
    expect([...r.moved]).toEqual([['a', 15_000]]);
    const late = await g.extendMoved([{ ticket: 'b', generation: 3, revokeBy: 25_000 }, { ticket: 'c', generation: 3, revokeBy: 40_000 }], () => 31_000);
    expect(late.skipped.sort()).toEqual(['b', 'c']);
    expect([...late.moved]).toEqual([]);
  });

  it('arms, extends only later and only the same generation, skips passed deadlines, disarms', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.arm('a', 3, 10_000);
    await g.arm('b', 5, 10_000);
    const skipped = await g.extend(
      [
        { ticket: 'a', generation: 3, revokeBy: 15_000 },
        { ticket: 'b', generation: 4, revokeBy: 15_000 }, // another generation
        { ticket: 'c', generation: 1, revokeBy: 15_000 }, // not armed
      ],
      () => 9_000,
    );
    expect(skipped.sort()).toEqual(['b', 'c']);
    expect(g.get('a')).toEqual({ generation: 3, revokeBy: 15_000 });
    expect(g.get('b')).toEqual({ generation: 5, revokeBy: 10_000 });
    expect(await g.extend([{ ticket: 'a', generation: 3, revokeBy: 12_000 }], () => 9_000)).toEqual([]);
    expect(g.get('a')?.revokeBy).toBe(15_000); // never earlier
    // A deadline that has passed is not extended: the guard may have revoked that grant.
    expect(await g.extend([{ ticket: 'b', generation: 5, revokeBy: 20_000 }], () => 10_000)).toEqual(['b']);
    expect(g.get('b')?.revokeBy).toBe(10_000);
    await g.disarm('a');
    expect(g.get('a')).toBeUndefined();
    expect([...(await readGuardFile(path, 'boot-1'))]).toEqual([['b', { generation: 5, revokeBy: 10_000 }]]);
  });

  it('keeps the lease end beside each deadline (armed and moved with it); a record without one reads as before', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.armAll([
      { ticket: 'a', generation: 3, revokeBy: 10_000, leaseEnd: 10_400 },
      { ticket: 'old', generation: 1, revokeBy: 10_000 },
    ]);
    expect(await g.extend([{ ticket: 'a', generation: 3, revokeBy: 15_000, leaseEnd: 15_400 }], () => 9_000)).toEqual([]);
    // An entry that does not move the deadline does not move the lease end either.
    expect(await g.extend([{ ticket: 'a', generation: 3, revokeBy: 14_000, leaseEnd: 99_000 }], () => 9_000)).toEqual([]);
    const onDisk = await readGuardFile(path, 'boot-1');
    expect(onDisk.get('a')).toEqual({ generation: 3, revokeBy: 15_000, leaseEnd: 15_400 });
    expect(onDisk.get('old')).toEqual({ generation: 1, revokeBy: 10_000 });
    await writeFile(path, JSON.stringify({ format: 'tollbooth-lease-guard', version: 1, bootId: 'b', tickets: { t: { generation: 1, revokeBy: 5, leaseEnd: 'soon' } } }));
    await expect(readGuardFile(path, 'b')).rejects.toThrow('ticket "t" has an invalid leaseEnd');
  });

  it('group-commits: many changes asked for at once all land, each resolved once durable', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    const writes: number[] = [];
    const n = 2_000;
    await Promise.all(Array.from({ length: n }, (_, i) => g.arm(`t${i}`, 1, 50_000).then(() => writes.push(i))));
    expect(writes).toHaveLength(n);
    const onDisk = await readGuardFile(path, 'boot-1');
    expect(onDisk.size).toBe(n);
    // The first change starts a write; all others wait for it and go in the next one.
    const text = await readFile(path, 'utf8');
    expect(JSON.parse(text)).toMatchObject({ format: 'tollbooth-lease-guard', version: 1, bootId: 'boot-1' });
  });

  it('drops records of another boot (monotonic deadlines mean nothing after a reboot)', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.arm('a', 1, 10_000);
    expect((await LeaseGuardFile.open(path, 'boot-2')).get('a')).toBeUndefined();
    expect((await LeaseGuardFile.open(path, 'boot-1')).get('a')).toEqual({ generation: 1, revokeBy: 10_000 });
  });

  it('refuses a file that is not a guard record, naming the file and the problem', async () => {
    const path = await fresh();
    await writeFile(path, 'not json');
    await expect(readGuardFile(path, 'b')).rejects.toThrow(GuardFileError);
    await expect(readGuardFile(path, 'b')).rejects.toThrow(`${path}: not JSON`);
    await writeFile(path, JSON.stringify({ format: 'other', version: 1 }));
    await expect(readGuardFile(path, 'b')).rejects.toThrow('not a version 1 lease guard record');
    await writeFile(path, JSON.stringify({ format: 'tollbooth-lease-guard', version: 1, bootId: 'b', tickets: { t: { generation: -1, revokeBy: 5 } } }));
    await expect(readGuardFile(path, 'b')).rejects.toThrow('ticket "t" has an invalid generation or revokeBy');
  });

  it('reports a failed write to every change in it and keeps the old record', async () => {
    const path = await fresh();
    const g = await LeaseGuardFile.open(path, 'boot-1');
    await g.arm('a', 1, 10_000);
    await rm(dir, { recursive: true, force: true });
    await writeFile(dir, 'a file where the directory was');
    await expect(Promise.all([g.arm('b', 1, 10_000), g.disarm('a')])).rejects.toThrow();
    expect(g.get('a')).toEqual({ generation: 1, revokeBy: 10_000 });
    expect(g.get('b')).toBeUndefined();
    await rm(dir, { force: true });
  });
});
