// The node helper's defaults that the CLI's option definitions show in --help,
// apart from the helper itself (node-helper.ts loads node:net, node:crypto and
// the corosync readers; issue 15, item 3).

/** Accepted difference between a request's timestamp and the helper's clock, unless configured (ms). */
export const timestampWindowMsDefault = 30_000;
