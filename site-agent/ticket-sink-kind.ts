// The kinds of ticket sink a site agent can write to, apart from the sinks
// themselves: the CLI's option definitions need the names only, and must not
// load the crm_ticket adapter to print --help (issue 15, item 3).

export type TicketSinkKind = 'crm_ticket' | 'file';
export const ticketSinkKinds: readonly TicketSinkKind[] = ['crm_ticket', 'file'];
