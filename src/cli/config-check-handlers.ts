// `tollbooth config check`: the handler programs the file names, checked on
// this machine with the rule the site agent applies when it runs them
// (src/adapters/pacemaker/handlers.ts: absolute, present, executable, a
// directory with something to run, changeable only by root or the agent's
// user). Warnings, not errors: the file is the same on every member, and an
// arbitrator (or the admin's own machine) need not carry a site's handlers.
// What each warning says is what a site running this file here would do.

import { checkHandlerPath } from '../adapters/pacemaker/handlers.js';
import type { ConfiguredHandler } from '../config/index.js';
import { configProblem, type ConfigProblem } from '../config/problems.js';

/** One warning per handler path that a site on this machine could not use. */
export async function handlerPathProblems(fileName: string, handlers: readonly ConfiguredHandler[]): Promise<ConfigProblem[]> {
  const out: ConfigProblem[] = [];
  for (const h of handlers) {
    const problem = await checkHandlerPath(h.program);
    if (problem === null) continue;
    const consequence =
      h.ticket === undefined
        ? 'a member running this file here would log it at start and count a failed run at every event'
        : `a site running this file here would never acquire ticket "${h.ticket}" (its handler fails)`;
    out.push(configProblem(fileName, h.line, 'warning', `${h.key}: ${problem.message} on this machine; ${consequence}`, h.key));
  }
  return out;
}
