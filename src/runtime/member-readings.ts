// What the observation surfaces (/metrics, the status page) read from a
// running member: its identity and the components they query at request
// time. One definition, so both surfaces are handed the same readings.

import type { MonotonicClock, Transport } from '../ports/ports.js';
import type { TicketView } from './admin-service.js';
import type { FormationEvents } from './formation-events.js';
import type { Pump } from './pump.js';

export interface MemberReadings {
  readonly self: string;
  readonly kind: 'site' | 'arbitrator';
  readonly formation: string;
  readonly version: string;
  readonly pump: Pump;
  readonly transport: Transport;
  readonly clock: MonotonicClock;
  readonly events: FormationEvents;
  /** Every ticket as this member sees it (AdminService.views with local = true). */
  readonly tickets: () => readonly TicketView[];
}
