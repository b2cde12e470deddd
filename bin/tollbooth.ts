#!/usr/bin/env -S node --max-semi-space-size=1
// The flag caps V8's young generation at 1 MiB per semi-space (Node 20's
// default grows it to 16 MiB, 32 MiB of new space, under the steady
// allocation of an idle member's heartbeats): an idle member's RSS falls from
// 110-120 MiB to 80-87 MiB with no more CPU (docs/benchmarks.md, "Idle
// footprint"). V8 reads it only at start, so it is given here, where every
// launch of the installed command (systemd units, the OCF agent, the image)
// passes; the lease guard inherits it (process.execArgv). bench/harness.ts
// runs its members with the flags of this line, and the member's code cache
// is made under them (V8 rejects a cache made under other flags).
//
// The ES-module entry point of `tollbooth` (and of booth's names linked to it). In a bundled build it
// is dist/bin/tollbooth.mjs, which the installed command, dist/bin/tollbooth.js (the CommonJS entry
// bin/tollbooth-entry.ts, whose `#!` line packaging/bundle.ts copies from this file), imports for
// every command but the member's; in tsc's output alone it is dist/bin/tollbooth.js itself. The
// member commands, `tollbooth site-agent|arbitrator`, run from the member's own bundle,
// dist/bin/member.cjs, loaded with V8's code cache (bin/member-loader.ts): it holds their parser
// (bin/member-commands.ts) and the member, so a member's start loads neither the rest of the CLI nor
// a module graph of ES modules (issue 15: spawn → admin socket). Every other command, booth's names,
// and a build without the bundle go to bin/cli.ts.
//
// The polyfill stays first and static: every path that reaches libp2p runs after it.
import '../src/polyfills.js';
import { runsMemberCommand } from './member-command.js';

const member = runsMemberCommand(process.argv) ? (await import('./member-loader.js')).loadMemberBundle() : null;
if (member !== null) await member.runCli(process.argv);
else await import('./cli.js');
