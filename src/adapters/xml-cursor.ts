// The project's one XML reader: small, strict, dependency-free, for what
// Pacemaker's tools print and store — a CIB (`cibadmin -Q`), `crm_simulate
// --output-as=xml`, `crm_mon --output-as=xml`, `crm_ticket -q`,
// `crm_resource --locate --output-as=xml`. It builds a tree of elements
// (attributes, child elements, character data) and rejects anything that is
// not well-formed XML 1.0, naming what was wrong and where (offset, line,
// column). It refuses a DOCTYPE, so no entity can be declared and expanded
// (the "billion laughs"); only the five predefined entities and character
// references are decoded. Every size that grows with input is bounded
// (document length, depth, element count, attributes per element); callers
// pass tighter limits where they know the shape (crm_ticket -q is 3 deep).
//
// Users: pacemaker/runnability.ts, pacemaker/cluster-state.ts,
// pacemaker/crm-ticket-sink.ts, corosync/corosync-observe.ts (and through it
// corosync/node-helper.ts). Do not write another.

import { TollboothError } from '../errors.js';

/** One element: its name, attributes (entities decoded), child elements and character data. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The element's own character data (text and CDATA, not its children's), concatenated. */
  readonly text: string;
  /** Offset of the element's `<` in the document, for error messages. */
  readonly offset: number;
}

export interface XmlLimits {
  /** Longest document accepted, in characters. Default 256 Mi (above every output bound we run tools with). */
  readonly charsMax?: number;
  /** Deepest nesting accepted (the root is depth 1). Default 64; a CIB is about 10 deep. */
  readonly depthMax?: number;
  /** Most elements accepted in one document. Default 2 000 000. */
  readonly elementCountMax?: number;
  /** Most attributes on one element. Default 256. */
  readonly attrCountMax?: number;
}

/** The document is not well-formed (or is beyond a limit). `offset` is where reading stopped. */
export class XmlSyntaxError extends TollboothError<'XML_SYNTAX'> {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  /** What was wrong, without the position (for callers that build their own message). */
  readonly what: string;

  constructor(what: string, text: string, offset: number) {
    const { line, column } = lineColumn(text, offset);
    const near = JSON.stringify(text.slice(offset, offset + 40));
    super('XML_SYNTAX', `${what} at offset ${offset} (line ${line}, column ${column}, near ${near})`, { details: { what, offset, line, column } });
    this.what = what;
    this.offset = offset;
    this.line = line;
    this.column = column;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

// XML 1.0 names, slightly simplified: letters of any script, digits, `_ : . -`.
const nameRe = /[\p{L}_:][\p{L}\p{N}_:.\-\u00B7]*/uy;
const spaceRe = /[ \t\r\n]*/y;
// Characters XML 1.0 forbids anywhere (C0 controls except tab, LF, CR; U+FFFE/U+FFFF).
const forbiddenCharRe = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/** Default bound on a document's length, characters. */
export const xmlCharsMaxDefault = 256 * 1024 * 1024;
/** Default deepest nesting (a CIB is about 10 deep). */
export const xmlDepthMaxDefault = 64;
/** Default most elements in one document. */
export const xmlElementCountMaxDefault = 2_000_000;
/** Default most attributes on one element. */
export const xmlAttrCountMaxDefault = 256;

interface OpenElement {
  readonly name: string;
  readonly attrs: Map<string, string>;
  readonly children: XmlElement[];
  text: string;
  readonly offset: number;
}

class Cursor {
  pos = 0;
  private elementCount = 0;
  private readonly charsMax: number;
  private readonly depthMax: number;
  private readonly elementCountMax: number;
  private readonly attrCountMax: number;

  constructor(
    private readonly text: string,
    limits: XmlLimits,
  ) {
    this.charsMax = limits.charsMax ?? xmlCharsMaxDefault;
    this.depthMax = limits.depthMax ?? xmlDepthMaxDefault;
    this.elementCountMax = limits.elementCountMax ?? xmlElementCountMaxDefault;
    this.attrCountMax = limits.attrCountMax ?? xmlAttrCountMaxDefault;
  }

  fail(what: string, at = this.pos): never {
    throw new XmlSyntaxError(what, this.text, at);
  }

  private startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }

  private skipSpace(): boolean {
    spaceRe.lastIndex = this.pos;
    spaceRe.exec(this.text);
    const moved = spaceRe.lastIndex !== this.pos;
    this.pos = spaceRe.lastIndex;
    return moved;
  }

  private name(what: string): string {
    nameRe.lastIndex = this.pos;
    const m = nameRe.exec(this.text);
    if (m === null) this.fail(`expected ${what}`);
    this.pos = nameRe.lastIndex;
    return m[0];
  }

  /** Skips everything up to and including `end`, failing with `what` if it never comes. */
  private through(end: string, what: string): string {
    const at = this.text.indexOf(end, this.pos);
    if (at < 0) this.fail(what);
    const body = this.text.slice(this.pos, at);
    this.pos = at + end.length;
    return body;
  }

  private comment(): void {
    const start = this.pos;
    this.pos += 4; // <!--
    const body = this.through('-->', 'unterminated comment');
    if (body.includes('--') || body.endsWith('-')) this.fail('"--" inside a comment', start);
  }

  private processingInstruction(atDocumentStart: boolean): void {
    const start = this.pos;
    this.pos += 2; // <?
    const target = this.name('a processing-instruction target');
    if (target.toLowerCase() === 'xml' && !(atDocumentStart && target === 'xml')) {
      this.fail('an XML declaration is only allowed at the very start of the document', start);
    }
    this.through('?>', 'unterminated processing instruction');
  }

  /** Comments, processing instructions and white space outside the root element. */
  private misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--')) this.comment();
      else if (this.startsWith('<?')) this.processingInstruction(false);
      else if (this.startsWith('<!DOCTYPE') || this.startsWith('<!doctype')) this.fail('a DOCTYPE is not accepted');
      else return;
    }
  }

  document(): XmlElement {
    if (this.text.length > this.charsMax) this.fail(`document longer than ${this.charsMax} characters`, this.charsMax);
    if (this.text.charCodeAt(0) === 0xfeff) this.fail('a byte-order mark is not accepted (Pacemaker never writes one)');
    const bad = forbiddenCharRe.exec(this.text);
    if (bad !== null) this.fail(`character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} is not allowed in XML`, bad.index);
    if (this.startsWith('<?xml')) this.processingInstruction(true);
    this.misc();
    if (this.pos >= this.text.length) this.fail('no root element');
    const root = this.element();
    this.misc();
    if (this.pos !== this.text.length) this.fail('content after the root element');
    return root;
  }

  /** Reads one element and everything inside it, without recursion. */
  private element(): XmlElement {
    const stack: OpenElement[] = [];
    const seal = (el: OpenElement): XmlElement => ({ name: el.name, attrs: el.attrs, children: el.children, text: el.text, offset: el.offset });

    const first = this.startTag();
    if (first.selfClosing) return seal(first.el);
    stack.push(first.el);

    for (;;) {
      const top = stack[stack.length - 1] as OpenElement;
      const lt = this.text.indexOf('<', this.pos);
      if (lt < 0) this.fail(`<${top.name}> (opened at offset ${top.offset}) is never closed`, this.text.length);
      if (lt > this.pos) {
        top.text += this.charData(this.text.slice(this.pos, lt), this.pos);
        this.pos = lt;
      }
      if (this.startsWith('</')) {
        const at = this.pos;
        this.pos += 2;
        const name = this.name('an element name after "</"');
        this.skipSpace();
        if (this.text.charAt(this.pos) !== '>') this.fail(`expected ">" to end </${name}`);
        this.pos++;
        if (name !== top.name) this.fail(`</${name}> does not match <${top.name}> opened at offset ${top.offset}`, at);
        stack.pop();
        const done = seal(top);
        const parent = stack[stack.length - 1];
        if (parent === undefined) return done;
        parent.children.push(done);
      } else if (this.startsWith('<!--')) {
        this.comment();
      } else if (this.startsWith('<![CDATA[')) {
        this.pos += 9;
        top.text += this.through(']]>', 'unterminated CDATA section');
      } else if (this.startsWith('<?')) {
        this.processingInstruction(false);
      } else if (this.startsWith('<!')) {
        this.fail('unexpected markup declaration inside an element');
      } else {
        if (stack.length >= this.depthMax) this.fail(`elements nested deeper than ${this.depthMax}`);
        const child = this.startTag();
        if (child.selfClosing) top.children.push(seal(child.el));
        else stack.push(child.el);
      }
    }
  }

  private startTag(): { el: OpenElement; selfClosing: boolean } {
    const offset = this.pos;
    if (this.text.charAt(this.pos) !== '<') this.fail('expected "<"');
    this.pos++;
    this.elementCount++;
    if (this.elementCount > this.elementCountMax) this.fail(`more than ${this.elementCountMax} elements`, offset);
    const name = this.name('an element name after "<"');
    const attrs = new Map<string, string>();
    for (;;) {
      const spaced = this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        return { el: { name, attrs, children: [], text: '', offset }, selfClosing: true };
      }
      if (this.text.charAt(this.pos) === '>') {
        this.pos++;
        return { el: { name, attrs, children: [], text: '', offset }, selfClosing: false };
      }
      if (this.pos >= this.text.length) this.fail(`unterminated start tag <${name}`, offset);
      if (!spaced) this.fail(`expected white space, ">" or "/>" in <${name}>`);
      const keyAt = this.pos;
      const key = this.name(`an attribute name in <${name}>`);
      this.skipSpace();
      if (this.text.charAt(this.pos) !== '=') this.fail(`expected "=" after attribute ${key}`);
      this.pos++;
      this.skipSpace();
      const quote = this.text.charAt(this.pos);
      if (quote !== '"' && quote !== "'") this.fail(`expected a quoted value for attribute ${key}`);
      const end = this.text.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`unterminated value of attribute ${key}`);
      const raw = this.text.slice(this.pos + 1, end);
      const lt = raw.indexOf('<');
      if (lt >= 0) this.fail(`"<" in the value of attribute ${key}`, this.pos + 1 + lt);
      if (attrs.has(key)) this.fail(`attribute ${key} appears twice in <${name}>`, keyAt);
      if (attrs.size >= this.attrCountMax) this.fail(`more than ${this.attrCountMax} attributes in <${name}>`, keyAt);
      // Attribute-value normalisation (XML 1.0 §3.3.3): literal white space becomes a
      // space; white space written as a character reference survives.
      attrs.set(key, this.decode(raw.replace(/[\t\n\r]/g, ' '), this.pos + 1, `attribute ${key}`));
      this.pos = end + 1;
    }
  }

  private charData(raw: string, at: number): string {
    const cdataEnd = raw.indexOf(']]>');
    if (cdataEnd >= 0) this.fail('"]]>" in character data', at + cdataEnd);
    return this.decode(raw, at, 'character data');
  }

  private decode(raw: string, at: number, where: string): string {
    if (!raw.includes('&')) return raw;
    let out = '';
    let from = 0;
    for (let amp = raw.indexOf('&'); amp >= 0; amp = raw.indexOf('&', from)) {
      out += raw.slice(from, amp);
      const semi = raw.indexOf(';', amp);
      const ent = semi < 0 || semi - amp > 12 ? null : raw.slice(amp + 1, semi);
      if (ent === null) this.fail(`bare "&" in ${where}`, at + amp);
      out += this.entity(ent, at + amp, where);
      from = semi + 1;
    }
    return out + raw.slice(from);
  }

  private entity(ent: string, at: number, where: string): string {
    switch (ent) {
      case 'quot':
        return '"';
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'apos':
        return "'";
    }
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ent);
    if (m === null) this.fail(`unknown entity &${ent}; in ${where}`, at);
    const cp = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
    const allowed =
      cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
    if (!allowed) this.fail(`character reference &${ent}; names a character XML does not allow, in ${where}`, at);
    return String.fromCodePoint(cp);
  }
}

/**
 * Parses a whole XML document into its root element. Throws XmlSyntaxError
 * (with offset, line and column) on anything that is not well-formed XML 1.0,
 * on a DOCTYPE, and past a limit.
 */
export function parseXmlDocument(text: string, limits: XmlLimits = {}): XmlElement {
  return new Cursor(text, limits).document();
}

/** The child elements of `el`, optionally only those named `name`, in document order. */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  return name === undefined ? [...el.children] : el.children.filter((c) => c.name === name);
}

/** The first child element named `name`, or null. */
export function firstChild(el: XmlElement, name: string): XmlElement | null {
  return el.children.find((c) => c.name === name) ?? null;
}

/** Every element below `el` (not `el` itself) named `name`, in document order. */
export function descendants(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const stack: XmlElement[] = [...el.children].reverse();
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (next.name === name) out.push(next);
    for (let i = next.children.length - 1; i >= 0; i--) stack.push(next.children[i] as XmlElement);
  }
  return out;
}
