// The one error for a command line the CLI cannot act on (a bad option value,
// a missing pair, a config with errors): the CLI prints its message and exits
// with the usage code (2). bin/tollbooth.ts and the `quorum` commands share it.

import { TollboothError } from '../errors.js';

export class UsageError extends TollboothError<'USAGE'> {
  constructor(message: string) {
    super('USAGE', message);
  }
}
