// The address of the member's HTTP listener (`--http ADDRESS:PORT`, issue 13):
// parsed and checked on its own, without node:http, so that a member started
// without --http, or one checking its options, loads no HTTP server (issue 15,
// item 2: what a member loads before its admin socket answers).

import { isIP } from 'node:net';
import { TollboothError } from '../errors.js';

export interface HttpListen {
  readonly host: string;
  readonly port: number;
}

/** Where a bare port listens: loopback, so nothing is exposed unless the operator says so. */
export const httpHostDefault = '127.0.0.1';

export class HttpListenError extends TollboothError<'HTTP_LISTEN_INVALID' | 'HTTP_LISTEN_FAILED'> {}

/** Parses `ADDRESS:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT`; throws HttpListenError naming the value. */
export function parseHttpListen(text: string): HttpListen {
  const bad = (why: string): HttpListenError => new HttpListenError('HTTP_LISTEN_INVALID', `--http ${JSON.stringify(text)}: ${why} (expected ADDRESS:PORT, [IPv6]:PORT or PORT)`, { details: { value: text } });
  let host = httpHostDefault;
  let portText = text;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (v6 !== null) {
    host = v6[1]!;
    portText = v6[2]!;
    if (isIP(host) !== 6) throw bad(`${host} is not an IPv6 address`);
  } else if (text.includes(':')) {
    const at = text.lastIndexOf(':');
    const h = text.slice(0, at);
    portText = text.slice(at + 1);
    if (h !== '') {
      if (isIP(h) !== 4) throw bad(`${h} is not an IPv4 address (write an IPv6 one in brackets)`);
      host = h;
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad(`"${portText}" is not a port number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw bad(`port ${port} is outside 1..65535`);
  return { host, port };
}
