// Checks the corosync.conf reader/rewriter (src/adapters/corosync-conf.ts).
// Realistic files — the lab's own corosync.conf as corosync 3.1.7 ran it
// (fixtures/corosync/), a pcs-style knet config with two links, interface
// sections, crypto, logger_subsys, quorum options and comments, a
// tab-indented CRLF file, and one with a quorum device — must come back byte
// for byte from parse + serialize, and summarize to what they say. The
// nodelist change is checked against the file the lab actually ran after a
// promotion (dropping node3, adding remote1 must give exactly that file), for
// what it keeps (everything outside the changed node blocks, comments
// included, indentation and line endings), and by a property over random
// nodelists. Every refusal names the file, the line and the reason.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  changeNodelist,
  corosyncConfSha256,
  CorosyncConfError,
  nextCorosyncNodeId,
  parseCorosyncConf,
  promotionNodelist,
  serializeCorosyncConf,
  summarizeCorosyncConf,
} from '../../../src/adapters/corosync/corosync-conf.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'corosync');
const labHealthy = readFileSync(join(fixtures, '1-healthy', 'corosync.conf'), 'utf8');
const labPromoted = readFileSync(join(fixtures, '4-promoted', 'corosync.conf'), 'utf8');
const labPromotedTwice = readFileSync(join(fixtures, '6-promoted-twice', 'corosync.conf'), 'utf8');

/** As pcs 0.11 writes it, plus hand-added comments and quorum options. */
const pcsKnet = `# Please read the corosync.conf.5 manual page
totem {
    version: 2
    cluster_name: prod-a
    transport: knet
    crypto_cipher: aes256
    crypto_hash: sha256
    token: 3000
    # a second link on the storage network
    interface {
        linknumber: 0
        knet_link_priority: 2
    }
    interface {
        linknumber: 1
        knet_link_priority: 1
    }
}

nodelist {
    # rack A
    node {
        ring0_addr: 10.1.0.1
        ring1_addr: 192.168.10.1
        name: alpha
        nodeid: 1
    }

    node {
        ring0_addr: 10.1.0.2
        ring1_addr: 192.168.10.2
        name: beta
        nodeid: 2
    }

    # rack B
    node {
        ring0_addr: 10.1.0.3
        ring1_addr: 192.168.10.3
        name: gamma
        nodeid: 3
    }
}

quorum {
    provider: corosync_votequorum
    wait_for_all: 1
    last_man_standing: 1
    last_man_standing_window: 10000
}

logging {
    to_logfile: yes
    logfile: /var/log/cluster/corosync.log
    to_syslog: yes
    timestamp: on
    logger_subsys {
        subsys: QUORUM
        debug: off
    }
}
`;

const tabsCrlf = ['totem {', '\tversion: 2', '\tcluster_name: tabbed', '}', 'quorum {', '\tprovider: corosync_votequorum', '}', 'nodelist {', '\tnode {', '\t\tnodeid: 7', '\t\tname: n7', '\t\tring0_addr: fe80::7%eth0', '\t}', '\tnode {', '\t\tnodeid: 9', '\t\tname: n9', '\t\tring0_addr: fe80::9%eth0', '\t}', '}', ''].join('\r\n');

const withQdevice = `totem {
  version: 2
  cluster_name: qd
}
nodelist {
  node {
    name: a
    nodeid: 1
    ring0_addr: a.example.net
  }
  node {
    name: b
    nodeid: 2
    ring0_addr: b.example.net
  }
}
quorum {
  provider: corosync_votequorum
  device {
    model: net
    votes: 1
    net {
      host: qnetd.example.net
      algorithm: ffsplit
    }
  }
}
`;

const samples: Record<string, string> = { labHealthy, labPromoted, labPromotedTwice, pcsKnet, tabsCrlf, withQdevice };

function confError(fn: () => unknown): CorosyncConfError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CorosyncConfError) return err;
    throw err;
  }
  throw new Error('expected a CorosyncConfError');
}

describe('parse and serialize', () => {
  it.each(Object.entries(samples))('%s comes back byte for byte', (_, text) => {
    expect(serializeCorosyncConf(parseCorosyncConf(text))).toBe(text);
  });

  it('keeps a file without a final newline as it is', () => {
    const text = labHealthy.slice(0, -1);
    expect(serializeCorosyncConf(parseCorosyncConf(text))).toBe(text);
  });

  it('summarizes the lab file as corosync ran it', () => {
    const s = summarizeCorosyncConf(parseCorosyncConf(labHealthy));
    expect(s.clusterName).toBe('h6lab');
    expect(s.transport).toBe('knet');
    expect(s.links).toEqual([0]);
    expect(s.quorum).toMatchObject({ provider: 'corosync_votequorum', expectedVotes: null, twoNode: false, device: false });
    expect(s.nodes.map((n) => [n.name, n.nodeid, n.addrs.get(0), n.votes])).toEqual([
      ['node1', 1, '10.93.0.11', 1],
      ['node2', 2, '10.93.0.12', 1],
      ['node3', 3, '10.93.0.13', 1],
    ]);
    expect(s.nodelistVotes).toBe(3);
    expect(nextCorosyncNodeId(s)).toBe(4);
  });

  it('summarizes two links, quorum options, tabs, CRLF, IPv6 and a quorum device', () => {
    const k = summarizeCorosyncConf(parseCorosyncConf(pcsKnet));
    expect(k.links).toEqual([0, 1]);
    expect(k.quorum).toMatchObject({ waitForAll: true, lastManStanding: true, autoTieBreaker: false });
    expect(k.nodes.map((n) => n.addrs.get(1))).toEqual(['192.168.10.1', '192.168.10.2', '192.168.10.3']);
    const t = summarizeCorosyncConf(parseCorosyncConf(tabsCrlf));
    expect(t.nodes.map((n) => [n.name, n.nodeid, n.addrs.get(0)])).toEqual([['n7', 7, 'fe80::7%eth0'], ['n9', 9, 'fe80::9%eth0']]);
    expect(summarizeCorosyncConf(parseCorosyncConf(withQdevice)).quorum.device).toBe(true);
  });
});

describe('changing the nodelist', () => {
  it('dropping node3 and adding remote1 gives exactly the file the lab ran after the promotion', () => {
    const r = changeNodelist(parseCorosyncConf(labHealthy), { remove: ['node3'], add: [{ name: 'remote1', addrs: new Map([[0, '10.93.0.21']]) }] });
    expect(r.text).toBe(labPromoted);
    expect(r.addedIds).toEqual([4]);
    const twice = changeNodelist(r.doc, { remove: ['node2'], add: [{ name: 'remote2', addrs: new Map([[0, '10.93.0.22']]) }] });
    expect(twice.text).toBe(labPromotedTwice);
    expect(twice.addedIds).toEqual([5]);
  });

  it('promotionNodelist gives both versions with their hashes and voters', () => {
    const p = promotionNodelist(labHealthy, 'corosync.conf', { replace: 'node3', promote: 'remote1', addrs: new Map([[0, '10.93.0.21']]) });
    expect(p.before).toEqual({ text: labHealthy, sha256: corosyncConfSha256(labHealthy), voters: ['node1', 'node2', 'node3'] });
    expect(p.after).toEqual({ text: labPromoted, sha256: corosyncConfSha256(labPromoted), voters: ['node1', 'node2', 'remote1'] });
    expect(p.newNodeId).toBe(4);
    expect(p.before.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps comments, blank lines and the other sections, and follows the first node\'s layout', () => {
    const r = changeNodelist(parseCorosyncConf(pcsKnet), {
      remove: ['beta'],
      add: [{ name: 'delta', addrs: new Map([[0, '10.1.0.4'], [1, '192.168.10.4']]) }],
    });
    expect(r.text).not.toContain('beta');
    expect(r.text).toContain('# rack A');
    expect(r.text).toContain('# rack B');
    expect(r.text).toContain('# a second link on the storage network');
    expect(r.text).toContain('    node {\n        ring0_addr: 10.1.0.4\n        ring1_addr: 192.168.10.4\n        name: delta\n        nodeid: 4\n    }\n}\n');
    // Outside the nodelist nothing changed.
    const outside = (t: string): string => t.replace(/\nnodelist \{[\s\S]*?\n\}\n/, '\n');
    expect(outside(r.text)).toBe(outside(pcsKnet));
    expect(r.summary.nodes.map((n) => n.name)).toEqual(['alpha', 'gamma', 'delta']);
  });

  it('writes new lines with the file\'s tabs and CRLF endings', () => {
    const r = changeNodelist(parseCorosyncConf(tabsCrlf), { remove: ['n7'], add: [{ name: 'n10', nodeid: 10, addrs: new Map([[0, 'fe80::a%eth0']]) }] });
    expect(r.text).toContain('\tnode {\r\n\t\tnodeid: 10\r\n\t\tname: n10\r\n\t\tring0_addr: fe80::a%eth0\r\n\t}\r\n}\r\n');
    expect(r.text.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('never reuses an id: the next id is above every id, including the dropped one', () => {
    const r = changeNodelist(parseCorosyncConf(tabsCrlf), { remove: ['n9'], add: [{ name: 'n11', addrs: new Map([[0, 'fe80::b%eth0']]) }] });
    expect(r.addedIds).toEqual([10]);
    const e = confError(() => changeNodelist(parseCorosyncConf(tabsCrlf), { remove: ['n9'], add: [{ name: 'n11', nodeid: 9, addrs: new Map([[0, 'fe80::b%eth0']]) }] }));
    expect(e.code).toBe('CONF_CHANGE');
  });

  it.each([
    ['an unknown node', { remove: ['zeta'], add: [] }, /node zeta is not in the nodelist/],
    ['a name already there', { remove: [], add: [{ name: 'gamma', addrs: new Map([[0, '10.1.0.9'], [1, '192.168.10.9']]) }] }, /already in the nodelist/],
    ['an address already used', { remove: [], add: [{ name: 'zeta', addrs: new Map([[0, '10.1.0.3'], [1, '192.168.10.9']]) }] }, /address 10\.1\.0\.3 .* already used/],
    ['missing link 1', { remove: ['beta'], add: [{ name: 'zeta', addrs: new Map([[0, '10.1.0.9']]) }] }, /has links 0, the nodelist uses 0,1/],
    ['a knet id above 65535', { remove: ['beta'], add: [{ name: 'zeta', nodeid: 70_000, addrs: new Map([[0, '10.1.0.9'], [1, '192.168.10.9']]) }] }, /out of range/],
    ['a bad name', { remove: ['beta'], add: [{ name: 'ze ta', addrs: new Map([[0, '10.1.0.9'], [1, '192.168.10.9']]) }] }, /not a plain host name/],
    ['a bad address', { remove: ['beta'], add: [{ name: 'zeta', addrs: new Map([[0, '10.1.0.9 #'], [1, '192.168.10.9']]) }] }, /not an IP address or host name/],
  ])('refuses %s', (_, change, reason) => {
    const e = confError(() => changeNodelist(parseCorosyncConf(pcsKnet, '/etc/corosync/corosync.conf'), change));
    expect(e.code).toBe('CONF_CHANGE');
    expect(e.file).toBe('/etc/corosync/corosync.conf');
    expect(e.message).toMatch(reason);
  });

  it('refuses to leave expected_votes or two_node inconsistent with the new nodelist', () => {
    const ev = labHealthy.replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n    expected_votes: 3');
    expect(changeNodelist(parseCorosyncConf(ev), { remove: ['node3'], add: [{ name: 'r1', addrs: new Map([[0, '10.93.0.21']]) }] }).summary.nodes).toHaveLength(3);
    expect(confError(() => changeNodelist(parseCorosyncConf(ev), { remove: ['node3'], add: [] })).message).toMatch(/expected_votes is 3 but the new nodelist has 2 votes/);
    const two = withQdevice.replace('provider: corosync_votequorum', 'provider: corosync_votequorum\n  two_node: 1');
    expect(confError(() => changeNodelist(parseCorosyncConf(two), { remove: [], add: [{ name: 'c', addrs: new Map([[0, 'c.example.net']]) }] })).message).toMatch(/two_node is set but the new nodelist has 3 nodes/);
  });

  it('property: random nodelists round-trip, and a change touches only the node blocks it names', () => {
    const node = fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), comment: fc.boolean(), blank: fc.boolean() });
    fc.assert(
      fc.property(fc.uniqueArray(node, { minLength: 2, maxLength: 9, selector: (n) => n.name }), fc.nat(), fc.constantFrom('    ', '\t', '  '), (nodes, pick, indent) => {
        const lines = ['# head comment', 'totem {', `${indent}version: 2`, `${indent}transport: knet`, '}', 'nodelist {'];
        nodes.forEach((n, i) => {
          if (n.blank) lines.push('');
          if (n.comment) lines.push(`${indent}# about ${n.name}`);
          lines.push(`${indent}node {`, `${indent}${indent}name: ${n.name}`, `${indent}${indent}nodeid: ${i + 1}`, `${indent}${indent}ring0_addr: 10.0.${i}.1`, `${indent}}`);
        });
        lines.push('}', 'quorum {', `${indent}provider: corosync_votequorum`, '}', '');
        const text = lines.join('\n');
        const doc = parseCorosyncConf(text);
        expect(serializeCorosyncConf(doc)).toBe(text);
        const victim = nodes[pick % nodes.length]!.name;
        const r = changeNodelist(doc, { remove: [victim], add: [{ name: 'fresh0', addrs: new Map([[0, '10.9.9.9']]) }] });
        expect(r.summary.nodes.map((n) => n.name)).toEqual([...nodes.map((n) => n.name).filter((n) => n !== victim), 'fresh0']);
        expect(r.addedIds).toEqual([nodes.length + 1]);
        // Every line of the old text except the victim's block is still there, in order.
        const victimBlock = new RegExp(`${indent.replace(/\t/g, '\\t')}node \\{\\n[^}]*name: ${victim}\\n[^}]*\\}\\n`);
        const kept = text.replace(victimBlock, '');
        expect(r.text.startsWith(kept.slice(0, kept.lastIndexOf('}\nquorum')))).toBe(true);
        expect(serializeCorosyncConf(parseCorosyncConf(r.text))).toBe(r.text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('refusals name file, line and reason', () => {
  const file = '/etc/corosync/corosync.conf';
  it.each([
    ['an unclosed section', 'totem {\n  version: 2\n', 1, /section totem is never closed/],
    ['a stray brace', 'totem {\n}\n}\n', 3, /unexpected "}"/],
    ['text after "{"', 'totem { version: 2\n}\n', 1, /must be "name \{" and nothing else/],
    ['text around "}"', 'totem {\n  } extra\n', 2, /a line with "}" must hold nothing else/],
    ['a "{" in a value', 'totem {\n  cluster_name: a{b\n}\n', 2, /must be "name \{"/],
    ['a key given twice', 'totem {\n  token: 1000\n  token: 3000\n}\n', 3, /key token given twice in section totem/],
    ['a key outside any section', 'version: 2\n', 1, /outside any section/],
    ['a key with white space', 'totem {\n  cluster name: x\n}\n', 2, /not a plain name/],
    ['a line corosync would split', `totem {\n  cluster_name: ${'x'.repeat(520)}\n}\n`, 2, /longer than 510/],
    ['a control character', 'totem {\n  cluster_name: a\u0001b\n}\n', 2, /control character/],
    ['a line that is nothing', 'totem {\n  just words\n}\n', 2, /expected "name \{", "key: value"/],
    ['a second nodelist', 'totem {\n}\nnodelist {\n}\nnodelist {\n}\n', 5, /a second nodelist section \(first at line 3\)/],
  ])('syntax: %s', (_, text, line, reason) => {
    const e = confError(() => parseCorosyncConf(text, file));
    expect(e.code).toBe('CONF_SYNTAX');
    expect(e.file).toBe(file);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(reason);
    expect(e.message.startsWith(`${file}:${line}: `)).toBe(true);
  });

  const node = (body: string): string => `totem {\n  version: 2\n}\nnodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n  }\n  node {\n${body}  }\n}\n`;
  it.each([
    ['a duplicate nodeid', node('    name: b\n    nodeid: 1\n    ring0_addr: 10.0.0.2\n'), 10, /nodeid 1 already used at line 5/],
    ['a duplicate name', node('    name: a\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n'), 10, /node name a already used/],
    ['a duplicate address', node('    name: b\n    nodeid: 2\n    ring0_addr: 10.0.0.1\n'), 13, /address 10\.0\.0\.1 already used/],
    ['a node without name', node('    nodeid: 2\n    ring0_addr: 10.0.0.2\n'), 10, /without name/],
    ['different links', node('    name: b\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n    ring1_addr: 10.1.0.2\n'), 10, /has links 0,1, the others 0/],
    ['a knet nodeid above 65535', node('    name: b\n    nodeid: 65536\n    ring0_addr: 10.0.0.2\n'), 12, /above 65535/],
    ['a zero nodeid', node('    name: b\n    nodeid: 0\n    ring0_addr: 10.0.0.2\n'), 12, /positive whole number/],
    ['a key directly in nodelist', 'totem {\n}\nnodelist {\n  name: x\n}\n', 4, /directly in nodelist/],
    ['no nodelist', 'totem {\n  version: 2\n}\n', 0, /no nodelist section/],
    ['a non-boolean quorum flag', `${node('    name: b\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n')}quorum {\n  two_node: yes\n}\n`, 17, /two_node must be 0 or 1/],
  ])('invalid: %s', (_, text, line, reason) => {
    const e = confError(() => summarizeCorosyncConf(parseCorosyncConf(text, file)));
    expect(e.code).toBe('CONF_INVALID');
    expect(e.line).toBe(line);
    expect(e.message).toMatch(reason);
  });
});
