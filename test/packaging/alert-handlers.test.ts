// The example alert handlers shipped in packaging/alert-handlers/ (issue 13,
// item 2), run as the agent runs them: the environment alertEnvironment
// builds for a real event, nothing else from ours. `syslog` is run with
// logger's --no-act --stderr (no syslog daemon here) and must print one line
// at the event's priority naming its fields; `webhook` posts to an HTTP
// server started here, whose received body must be JSON with the event's
// fields (a reason with quotes, a backslash and a newline included), and a
// server answering 500 must make it fail (curl --fail), which the agent
// counts. Skipped without logger or curl.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertEnvironment } from '../../src/runtime/alert-hooks.js';
import type { FormationEvent } from '../../src/runtime/formation-events.js';

const dir = resolve(import.meta.dirname, '../../packaging/alert-handlers');
const haveTools = existsSync('/usr/bin/logger') && existsSync('/usr/bin/curl');

const failover: FormationEvent = {
  seq: 9,
  timeUnixMs: Date.UTC(2026, 11, 6, 4, 50, 1, 250),
  member: '127.0.0.3',
  event: 'failover',
  ticket: 'db',
  site: '127.0.0.2',
  previous: '127.0.0.1',
  generation: 4,
  index: 17,
  reason: 'auto "failover" from C:\\ and\nmore',
};

function run(program: string, args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(program, [...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1, stdout, stderr });
    });
  });
}

describe.skipIf(!haveTools)('example alert handlers', () => {
  const env = alertEnvironment(failover, 'booth', { PATH: '/usr/bin:/bin' });

  it('syslog writes one line at the event\'s priority with its fields', async () => {
    const r = await run(`${dir}/syslog`, ['--no-act', '--stderr', '--socket-errors=off'], env);
    expect(r.code, r.stderr).toBe(0);
    // daemon.warning = 3 × 8 + 4.
    expect(r.stderr).toMatch(/^<28>.* tollbooth-alert: failover ticket=db site=127\.0\.0\.2 previous=127\.0\.0\.1 generation=4 reason="auto "failover" from C:\\ and/m);
    expect(r.stderr).toContain('member=127.0.0.3 formation=booth seq=9 at=2026-12-06T04:50:01.250Z');
    const dead = await run(`${dir}/syslog`, ['--no-act', '--stderr', '--socket-errors=off'], alertEnvironment({ seq: 10, timeUnixMs: failover.timeUnixMs, member: '127.0.0.3', event: 'member-dead', peer: '127.0.0.1', reason: 'was suspect, by 127.0.0.2' }, 'booth', { PATH: '/usr/bin:/bin' }));
    expect(dead.stderr).toMatch(/^<27>.* tollbooth-alert: member-dead peer=127\.0\.0\.1 reason="was suspect, by 127\.0\.0\.2"/m);
  }, 60_000);

  describe('webhook', () => {
    let server: Server;
    let port = 0;
    let status = 200;
    const bodies: Array<{ type: string | undefined; body: string }> = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
          bodies.push({ type: req.headers['content-type'], body });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('posts the event as JSON to the URL given as its argument or in ALERT_WEBHOOK_URL', async () => {
      const r = await run(`${dir}/webhook`, [`http://127.0.0.1:${port}/hook`], env);
      expect(r.code, r.stderr).toBe(0);
      const r2 = await run(`${dir}/webhook`, [], { ...env, ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/env` });
      expect(r2.code, r2.stderr).toBe(0);
      expect(bodies).toHaveLength(2);
      for (const b of bodies) {
        expect(b.type).toBe('application/json');
        expect(JSON.parse(b.body)).toEqual({
          event: 'failover',
          ticket: 'db',
          site: '127.0.0.2',
          previous: '127.0.0.1',
          generation: '4',
          index: '17',
          peer: '',
          leader: '',
          term: '',
          route: '',
          reason: 'auto "failover" from C:\\ and more',
          member: '127.0.0.3',
          formation: 'booth',
          seq: '9',
          timestamp: '2026-12-06T04:50:01.250Z',
          timestampEpochMs: String(failover.timeUnixMs),
        });
      }
    }, 60_000);

    it('fails when the server refuses the post, and without a URL', async () => {
      status = 500;
      const r = await run(`${dir}/webhook`, [`http://127.0.0.1:${port}/hook`], env);
      expect(r.code).toBe(22); // curl --fail: HTTP error
      const none = await run(`${dir}/webhook`, [], env);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no URL');
    }, 60_000);
  });
});
