// The member (site agent, arbitrator) and its two commands' parser as one CommonJS bundle,
// dist/bin/member.cjs (packaging/bundle.ts builds it; bin/member-loader.ts loads it with V8's
// code cache, and bin/tollbooth.ts runs `tollbooth site-agent|arbitrator` from it).
// The polyfill stays first: libp2p calls Promise.withResolvers at run time.
import '../src/polyfills.js';
import { Command } from 'commander';
import { runMember } from '../site-agent/main.js';
import { configureProgram, parseProgram, registerMemberCommands } from './member-commands.js';

export { runMember };

/**
 * Parses argv (`tollbooth site-agent|arbitrator …`) and runs the member; `codeLoad` says how this
 * bundle was loaded ('member ready' logs it), `afterRun` runs once the member stopped, before the exit.
 */
export async function runMemberCli(argv: readonly string[], codeLoad: string, afterRun: () => void): Promise<void> {
  const program = configureProgram(new Command());
  registerMemberCommands(program, async (kind, opts) => {
    const code = await runMember(kind, { ...opts, codeLoad });
    afterRun();
    return code;
  });
  await parseProgram(program, argv);
}
