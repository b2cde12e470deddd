// Checks the project's one XML reader (src/adapters/xml-cursor.ts): what it
// reads (declarations, comments, CDATA, entities, character references,
// attribute-value normalisation), what it refuses with offset, line and
// column, and its limits (length, depth, element count, attributes). Every
// XML output captured from the real tools under test/adapters/fixtures (CIBs,
// crm_mon from the corosync lab and a remote node, crm_resource --locate) is
// read, since corosync-observe.ts and node-helper.ts now read through it; a
// property test writes random element trees (names, attributes with every
// character that needs escaping, text) as XML and reads them back unchanged.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descendants, parseXmlDocument, XmlSyntaxError, type XmlElement } from '../../src/adapters/xml-cursor.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function xmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return xmlFiles(path);
    return name.endsWith('.xml') ? [path] : [];
  });
}

describe('parseXmlDocument (xml-cursor.ts)', () => {
  it('reads declarations, comments, CDATA, entities and character references', () => {
    const doc = parseXmlDocument(
      '<?xml version="1.0"?>\n<!-- head --><a x="1 &amp; &lt;2&gt; &#65;&#x42;" y=\'&quot;q&quot;\'>t&apos;<![CDATA[<raw>]]><b/><!-- c --><?pi x?><c z="a\tb&#10;c">in</c></a>\n',
    );
    expect(doc.name).toBe('a');
    expect(doc.attrs.get('x')).toBe('1 & <2> AB');
    expect(doc.attrs.get('y')).toBe('"q"');
    expect(doc.text).toBe("t'<raw>");
    expect(doc.children.map((c) => c.name)).toEqual(['b', 'c']);
    expect(doc.children[1]?.attrs.get('z')).toBe('a b\nc'); // literal tab normalised, &#10; kept
    expect(descendants(doc, 'c')[0]?.text).toBe('in');
  });

  it('rejects what is not well-formed, with offset, line and column', () => {
    const cases: Array<[string, string]> = [
      ['', 'no root element at offset 0'],
      ['<a>', '<a> (opened at offset 0) is never closed at offset 3'],
      ['<a></b>', '</b> does not match <a> opened at offset 0 at offset 3'],
      ['<a/><b/>', 'content after the root element at offset 4'],
      ['<a x=1/>', 'expected a quoted value for attribute x at offset 5'],
      ['<a x="<"/>', '"<" in the value of attribute x at offset 6'],
      ['<a>&#0;</a>', 'character reference &#0; names a character XML does not allow, in character data at offset 3'],
      ['<a>\u0001</a>', 'character U+0001 is not allowed in XML at offset 3'],
      ['<a><!-- x -- y --></a>', '"--" inside a comment at offset 3'],
      ['<a>]]></a>', '"]]>" in character data at offset 3'],
      ['<a/>\n<?xml version="1.0"?>', 'an XML declaration is only allowed at the very start of the document at offset 5'],
      ['\n\n  <a x="1"y="2"/>', 'expected white space, ">" or "/>" in <a> at offset 12'],
    ];
    for (const [text, message] of cases) {
      let err: unknown = null;
      try {
        parseXmlDocument(text);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(text)).toBeInstanceOf(XmlSyntaxError);
      expect((err as Error).message.startsWith(message), `${JSON.stringify(text)}: ${(err as Error).message}`).toBe(true);
    }
    const e = (() => {
      try {
        parseXmlDocument('\n\n  <a x="1"y="2"/>');
      } catch (err) {
        return err as XmlSyntaxError;
      }
      return null;
    })();
    expect(e).toMatchObject({ offset: 12, line: 3, column: 11 });
  });

  it('enforces its limits', () => {
    expect(() => parseXmlDocument('<a>0123456789</a>', { charsMax: 10 })).toThrow(/document longer than 10 characters/);
    expect(parseXmlDocument('<a>0123</a>', { charsMax: 11 }).text).toBe('0123');
    expect(() => parseXmlDocument('<a><a><a/></a></a>', { depthMax: 2 })).toThrow(/elements nested deeper than 2 at offset 6/);
    expect(() => parseXmlDocument('<a><b/><b/></a>', { elementCountMax: 2 })).toThrow(/more than 2 elements at offset 7/);
    expect(() => parseXmlDocument('<a x="1" y="2"/>', { attrCountMax: 1 })).toThrow(/more than 1 attributes in <a> at offset 9/);
  });
});

describe('the captured outputs of the real tools', () => {
  const files = xmlFiles(fixtures);
  it('include the CIBs, the lab\'s crm_mon and crm_resource outputs', () => {
    const names = files.map((f) => relative(fixtures, f));
    expect(names).toContain('cib-tickets.xml');
    expect(names).toContain(join('corosync', '2-node3-lost', 'crm_mon-fence-history.xml'));
    expect(names).toContain(join('corosync', 'remote-node', 'crm_mon-proxied.xml'));
    expect(names).toContain(join('corosync', 'crm_resource', 'locate-running.xml'));
  });

  it.each(files.map((f) => [relative(fixtures, f), f]))('reads %s', (_, file) => {
    const text = readFileSync(file, 'utf8');
    const root = parseXmlDocument(text, { charsMax: 16 * 1024 * 1024, depthMax: 32, elementCountMax: 200_000 });
    expect(['cib', 'pacemaker-result']).toContain(root.name);
    // Every start tag became an element (a comment or declaration holds no "<x").
    const tags = text.replace(/<!--[\s\S]*?-->/g, '').match(/<[A-Za-z_]/g)?.length ?? 0;
    expect(countAll(root)).toBe(tags);
  });
});

function countAll(el: XmlElement): number {
  return 1 + el.children.reduce((n, c) => n + countAll(c), 0);
}

describe('a written tree reads back unchanged (property)', () => {
  interface Tree {
    name: string;
    attrs: Array<[string, string]>;
    text: string;
    children: Tree[];
  }
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
  // Characters that must be escaped, white space, and beyond ASCII.
  const value = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '&', '<', '>', '"', "'", '\t', '\n', 'é', '€', '😀'), maxLength: 12 });
  const treeAt = (depth: number): fc.Arbitrary<Tree> =>
    fc.record({
      name,
      attrs: fc.uniqueArray(fc.tuple(name, value), { maxLength: 4, selector: ([k]) => k }),
      text: value,
      children: depth === 0 ? fc.constant([]) : fc.array(treeAt(depth - 1), { maxLength: 3 }),
    });
  const tree = treeAt(4);
  const esc = (s: string, attr: boolean): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/[\t\n]/g, (c) => (attr ? `&#${c.charCodeAt(0)};` : c));
  const write = (t: Tree): string => `<${t.name}${t.attrs.map(([k, v]) => ` ${k}="${esc(v, true)}"`).join('')}>${esc(t.text, false)}${t.children.map(write).join('')}</${t.name}>`;
  const same = (t: Tree, el: XmlElement): void => {
    expect(el.name).toBe(t.name);
    expect([...el.attrs]).toEqual(t.attrs);
    expect(el.text).toBe(t.text);
    expect(el.children.length).toBe(t.children.length);
    t.children.forEach((c, i) => same(c, el.children[i]!));
  };
  it('for random trees with escaped attributes and text', () => {
    fc.assert(fc.property(tree, (t) => same(t, parseXmlDocument(write(t)))), { numRuns: 300 });
  });
});
