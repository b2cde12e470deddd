// Who asked for an admin command, as AdminService records it (issue 13,
// item 3): the kernel's credentials for the local socket, the admin key for a
// remote request, and for a request another member forwarded, what that
// member established. A requester written by the client is never believed, and
// nothing the wire schema would refuse reaches a command — in a log entry it
// would stop every follower's replication (message-schema.ts). The pump is a
// stand-in that leads and records the commands it is given.
import { describe, expect, it } from 'vitest';
import type { AdminCommand } from '../../src/core/ready.js';
import type { Pump } from '../../src/runtime/pump.js';
import type { AdminFrame, Transport } from '../../src/ports/ports.js';
import { AdminService, type AdminRequest, type RequestSource } from '../../src/runtime/admin-service.js';

const self = '10.0.0.1';

function service(): { admin: AdminService; commands: AdminCommand[]; frame: (f: AdminFrame) => void; replies: unknown[] } {
  const commands: AdminCommand[] = [];
  const replies: unknown[] = [];
  let onAdmin: (f: AdminFrame) => void = () => undefined;
  const transport = { onAdmin: (h: (f: AdminFrame) => void) => (onAdmin = h), sendAdmin: (f: AdminFrame) => replies.push(f.body) } as unknown as Transport;
  const pump = {
    core: { status: () => ({ role: 'leader', leader: self }) },
    command: (cmd: AdminCommand) => {
      commands.push(cmd);
      return Promise.resolve({ type: 'command-result', id: cmd.id, ok: true, message: 'committed', index: 7 });
    },
  } as unknown as Pump;
  const admin = new AdminService({ self: self as never, pump, transport, clock: { now: () => 0 } as never, describe: () => ({}), isSite: true });
  return { admin, commands, frame: (f) => onAdmin(f), replies };
}

const socket = (uid: number, user: string | null): RequestSource => ({ via: 'socket', credentials: () => Promise.resolve({ pid: 4242, uid, user }) });
const request = (body: unknown): AdminRequest => {
  const r = AdminService.check(body);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

describe('AdminService records who asked', () => {
  it('takes the kernel\'s word for the local socket, and keeps a different claimed name beside it', async () => {
    const { admin, commands } = service();
    const forged = { op: 'revoke', ticket: 'db', user: 'alice', requester: { via: 'socket', member: self, uid: 0, user: 'root', pid: 1 } };
    const r = await admin.handle(request(forged), false, socket(65534, 'nobody'));
    expect(r).toMatchObject({ ok: true, message: 'committed' });
    expect(commands[0]!.requester).toEqual({ via: 'socket', member: self, uid: 65534, user: 'nobody', pid: 4242, claimedUser: 'alice' });
    await admin.handle(request({ op: 'revoke', ticket: 'db', user: 'nobody' }), false, socket(65534, 'nobody'));
    expect(commands[1]!.requester).toEqual({ via: 'socket', member: self, uid: 65534, user: 'nobody', pid: 4242 });
  });

  it('leaves out a claimed name the log could not carry, never the command', async () => {
    const { admin, commands } = service();
    // A control character; 200 characters but 400 bytes of UTF-8 (the schema's limit is 256 bytes); a lone surrogate.
    for (const user of ['a\u0001b', 'é'.repeat(200), '\uD800']) {
      const r = await admin.handle(request({ op: 'revoke', ticket: 'db', user }), false, socket(0, 'root'));
      expect(r.ok).toBe(true);
    }
    expect(commands.map((c) => c.requester)).toEqual(Array(3).fill({ via: 'socket', member: self, uid: 0, user: 'root', pid: 4242 }));
  });

  it('runs the command, saying the requester is not recorded, when the kernel cannot be asked', async () => {
    const { admin, commands } = service();
    const failing: RequestSource = { via: 'socket', credentials: () => Promise.reject(new Error('cannot ask the kernel who connected: perl exited 2: SO_PEERCRED: Bad file descriptor')) };
    const r = await admin.handle(request({ op: 'revoke', ticket: 'db' }), false, failing);
    expect(r).toMatchObject({ ok: true, message: 'committed (who asked is not recorded: cannot ask the kernel who connected: perl exited 2: SO_PEERCRED: Bad file descriptor)' });
    expect(commands[0]!.requester).toBeUndefined();
  });

  it('names the admin key of a remote request, and believes a requester only from a member that forwards', async () => {
    const { frame, commands } = service();
    const claimed = { via: 'socket', member: '10.0.0.2', uid: 1000, user: 'bob', pid: 9 };
    const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    frame({ from: 'admin:AbCdEfGhIjKlMnOp' as never, to: self as never, kind: 'admin', origin: 'admin-key', body: { rid: 'r1', req: { op: 'revoke', ticket: 'db', requester: claimed } } });
    await settled();
    expect(commands[0]!.requester).toEqual({ via: 'admin-key', member: self, keyId: 'admin:AbCdEfGhIjKlMnOp' });
    frame({ from: '10.0.0.2' as never, to: self as never, kind: 'admin', body: { rid: 'r2', req: { op: 'revoke', ticket: 'db', requester: claimed } } });
    await settled();
    expect(commands[1]!.requester).toEqual(claimed);
  });
});
