import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isCipherfoldError } from '../../../lib/errors';
import { childElements, firstChild, parseXml, textContent, NS_DAV, NS_NC } from '../../../lib/nextcloud/xml';
import { parseMultistatus } from '../../../lib/nextcloud/multistatus';

function expectFormat(f: () => unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isCipherfoldError(caught, 'format')).toBe(true);
}

describe('parseXml', () => {
  it('resolves prefixes, default namespaces and redeclarations', () => {
    const root = parseXml(
      '<?xml version="1.0"?>\n<a:root xmlns:a="urn:a" xmlns="urn:default"><child/><a:x xmlns:a="urn:other"><y xmlns=""/></a:x></a:root>',
    );
    expect(root).toMatchObject({ ns: 'urn:a', local: 'root' });
    const kids = childElements(root);
    expect(kids.map((k) => [k.ns, k.local])).toEqual([
      ['urn:default', 'child'],
      ['urn:other', 'x'],
    ]);
    expect(childElements(kids[1]!)[0]).toMatchObject({ ns: '', local: 'y' });
  });

  it('decodes entities, character references and CDATA; keeps whitespace and CR exactly', () => {
    const root = parseXml(
      '<r>&lt;a&gt; &amp; &quot;q&quot; &apos;s&apos; &#233;&#x1F600;<![CDATA[<raw & stuff>]]> \r\n end</r>',
    );
    expect(textContent(root)).toBe(`<a> & "q" 's' é😀<raw & stuff> \r\n end`);
    expect(root.children).toHaveLength(1);
  });

  it('reads attributes with both quote styles and namespaced attributes', () => {
    const root = parseXml(`<r xmlns:p="urn:p" a='1' p:b="x&amp;y" c="t\tab"/>`);
    expect(root.attributes).toEqual([
      { ns: '', local: 'a', value: '1' },
      { ns: 'urn:p', local: 'b', value: 'x&y' },
      { ns: '', local: 'c', value: 't ab' },
    ]);
  });

  it('skips comments, processing instructions and a BOM', () => {
    const root = parseXml('\uFEFF<?xml version="1.0"?><!-- c --><r><!-- in --><?pi x?>t</r><!-- after -->\n');
    expect(textContent(root)).toBe('t');
  });

  it.each([
    ['empty', ''],
    ['text only', 'hello'],
    ['unclosed', '<a><b></b>'],
    ['mismatched', '<a></b>'],
    ['two roots', '<a/><b/>'],
    ['undeclared prefix', '<x:a/>'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['bad char ref', '<a>&#xD800;</a>'],
    ['zero char ref', '<a>&#0;</a>'],
    ['doctype', '<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'],
    ['unterminated comment', '<a><!-- </a>'],
    ['unterminated cdata', '<a><![CDATA[ </a>'],
    ['duplicate attribute', '<a x="1" x="2"/>'],
    ['duplicate expanded attribute', '<a xmlns:p="u" xmlns:q="u" p:x="1" q:x="2"/>'],
    ['unquoted attribute', '<a x=1/>'],
    ['lt in attribute', '<a x="<"/>'],
    ['text after root', '<a/>junk'],
    ['bare ampersand', '<a>a & b</a>'],
    ['empty prefix declaration', '<a xmlns:p=""/>'],
    ['empty tag name', '< a/>'],
  ])('rejects %s with a format error', (_name, xml) => {
    expectFormat(() => parseXml(xml));
  });

  it('limits nesting depth without recursion', () => {
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    expectFormat(() => parseXml(deep));
    expect(parseXml('<a>'.repeat(200) + '</a>'.repeat(200)).local).toBe('a');
  });

  it('helpers find children by namespace', () => {
    const root = parseXml(
      '<d:x xmlns:d="DAV:" xmlns:n="http://nextcloud.org/ns"><d:y>1</d:y><n:y>2</n:y></d:x>',
    );
    expect(textContent(firstChild(root, NS_NC, 'y')!)).toBe('2');
    expect(textContent(firstChild(root, NS_DAV, 'y')!)).toBe('1');
  });
});

// ---- fuzzing: only typed errors, never hangs ----

const SAMPLE =
  '<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">' +
  '<d:response><d:href>/remote.php/dav/files/alice/A%20b/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype>' +
  '<oc:fileid>12</oc:fileid><nc:e2ee-metadata><![CDATA[{"a":1}]]></nc:e2ee-metadata><d:getetag>&quot;e&quot;</d:getetag></d:prop>' +
  '<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>';

function onlyFormatErrors(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (isCipherfoldError(e, 'format')) return true;
    throw e;
  }
}

const tokenArb = fc.constantFrom(
  '<',
  '>',
  '/',
  '</',
  '/>',
  '<?',
  '?>',
  '<!--',
  '-->',
  '<![CDATA[',
  ']]>',
  '&',
  ';',
  '&amp;',
  '&#x',
  '&#',
  '"',
  "'",
  '=',
  ':',
  ' ',
  'xmlns',
  'xmlns:d="DAV:"',
  'd:',
  'a',
  'd:response',
  'd:href',
  'd:multistatus',
  '<!DOCTYPE',
  '\u0000',
  '\uD800',
  '%',
  '%zz',
);

describe('XML reader fuzzing', () => {
  it('arbitrary strings → parse or format error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (s) => onlyFormatErrors(() => parseXml(s))),
      { numRuns: 3000 },
    );
  });

  it('token soups → parse or format error (XML reader and multistatus parser)', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 80 }), (parts) => {
        const s = parts.join('');
        return (
          onlyFormatErrors(() => parseXml(s)) &&
          onlyFormatErrors(() => parseMultistatus(s, { basePath: '', userId: 'alice' }))
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('mutations of a real multistatus → parse or format error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: SAMPLE.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 6 })), {
          minLength: 1,
          maxLength: 5,
        }),
        (edits) => {
          let s = SAMPLE;
          for (const [at, del, ins] of edits) s = s.slice(0, at) + ins + s.slice(at + del);
          return onlyFormatErrors(() => parseMultistatus(s, { basePath: '', userId: 'alice' }));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('large pathological inputs finish quickly', () => {
    const inputs = [
      '<a>' + '&amp;'.repeat(200_000) + '</a>',
      '<a ' + 'x'.repeat(500_000),
      '<a>' + '<!--'.repeat(100_000),
      '<' + 'a'.repeat(1_000_000) + '>',
      '<a>' + '<b/>'.repeat(200_000) + '</a>',
    ];
    const t0 = Date.now();
    for (const s of inputs) expect(onlyFormatErrors(() => parseXml(s))).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
