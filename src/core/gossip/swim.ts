// Compatibility only: the gossip layer is split by concept (config.ts,
// messages.ts, events.ts, view.ts, routes.ts, swim-node.ts, …). src/runtime
// still imports these types from here; import from the concept files
// instead, and delete this file once nothing imports it.

export type { SwimTiming } from './config.js';
export type { Route } from './routes.js';
export type { SwimView } from './view.js';
