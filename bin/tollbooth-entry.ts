// The installed command's entry point: in a bundled build, dist/bin/tollbooth.js is this module as
// one CommonJS script (packaging/bundle.ts; dist/bin/package.json says "type": "commonjs" for it),
// with the `#!` line and its node flags of bin/tollbooth.ts. The package's "bin", the .deb's
// /usr/sbin links (tollbooth and booth's names), the image, the systemd units and the OCF agent all
// run this same path with the same argv as before.
//
// Why CommonJS (issue 15: spawn → admin socket): Node runs an ES-module entry through its ES-module
// loader (resolve, read, link, evaluate, asynchronously), ~35–40 ms of a member's start before any
// of its code ran (docs/benchmarks.md, "CLI start-up and the lease guard's footprint"); a CommonJS
// main script is compiled and run at once. A member command loads its bundle from here (the code
// cache and its checks are bin/member-loader.ts's, unchanged) and never starts an ES module. Every
// other command, booth's names, and a build whose member.cjs is missing import the ES entry,
// dist/bin/tollbooth.mjs (bin/tollbooth.ts), which decides as before: the same code, one import later.
import { runsMemberCommand } from './member-command.js';

/** bin/tollbooth.ts as packaging/bundle.ts writes it, beside this script. */
const esEntry = './tollbooth.mjs';

async function main(): Promise<void> {
  // The loader (node:crypto, node:vm) is evaluated for the member commands only: bundled in this
  // script, this import is a function call, not an ES module.
  const member = runsMemberCommand(process.argv) ? (await import('./member-loader.js')).loadMemberBundle() : null;
  if (member !== null) await member.runCli(process.argv);
  else await import(esEntry);
}

// A failure surfaces as the ES entry's rejected top-level await did: an uncaught error, exit 1.
void main();
