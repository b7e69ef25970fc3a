/** Filedrop merge: PHP-style re-encoding of the whole stored document (protocol.md §4.3, G-14, G-34). */
import { describe, expect, it } from 'vitest';
import { mergeFiledrop, phpDecode, phpEncode } from '../../server/phpjson';

describe('PHP JSON re-encoding', () => {
  it('escapes slashes and non-ASCII like json_encode defaults, keeps key order and number literals', () => {
    const text = '{"b":"a/b","a":"ü€😀","n":1,"f":1.5,"z":{},"l":[1,2],"t":true,"x":null}';
    expect(phpEncode(phpDecode(text))).toBe(
      '{"b":"a\\/b","a":"\\u00fc\\u20ac\\ud83d\\ude00","n":1,"f":1.5,"z":[],"l":[1,2],"t":true,"x":null}',
    );
  });

  it('escapes control characters and renumbers "0".."n-1" objects as lists (G-34)', () => {
    expect(phpEncode(phpDecode('{"s":"a\\r\\n\\u0001","o":{"0":"x","1":"y"}}'))).toBe(
      '{"s":"a\\r\\n\\u0001","o":["x","y"]}',
    );
  });

  it('merges filedrop entries into the top-level filedrop object, replacing same keys', () => {
    const stored = JSON.stringify({
      metadata: { ciphertext: 'c/d', nonce: 'n', authenticationTag: 't' },
      users: [
        { userId: 'alice', certificate: '-----BEGIN CERTIFICATE-----\nAB/C\n-----END CERTIFICATE-----\n' },
      ],
      filedrop: { aaa: { ciphertext: 'old' } },
      version: '2.0',
    });
    const { text, input } = mergeFiledrop(
      stored,
      JSON.stringify({ aaa: { ciphertext: 'new' }, bbb: { ciphertext: 'x/y' } }),
    );
    expect(text).toContain('"ciphertext":"c\\/d"');
    expect(text).toContain('-----BEGIN CERTIFICATE-----\\nAB\\/C\\n');
    const parsed = JSON.parse(text) as { filedrop: Record<string, { ciphertext: string }>; version: string };
    expect(parsed.filedrop).toEqual({ aaa: { ciphertext: 'new' }, bbb: { ciphertext: 'x/y' } });
    expect(parsed.version).toBe('2.0');
    expect([...input.entries.keys()]).toEqual(['aaa', 'bbb']);
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['metadata', 'users', 'filedrop', 'version']);
  });

  it('accepts an empty filedrop stored as [] and adds the member when missing', () => {
    expect(JSON.parse(mergeFiledrop('{"filedrop":[]}', '{"u1":{}}').text)).toEqual({ filedrop: { u1: [] } });
    expect(mergeFiledrop('{"version":"2.0"}', '{"u2":{"a":1}}').text).toBe(
      '{"version":"2.0","filedrop":{"u2":{"a":1}}}',
    );
  });

  it('rejects non-object inputs', () => {
    expect(() => mergeFiledrop('[1]', '{}')).toThrow(SyntaxError);
    expect(() => mergeFiledrop('{}', '"x"')).toThrow(SyntaxError);
    expect(() => mergeFiledrop('{', '{}')).toThrow(SyntaxError);
  });
});
