/** Small JSON helpers shared by the metadata parsers: bounded parsing and own-member access. */
import { fail } from '../../errors';

/** Documents nest 4–5 levels; anything much deeper is hostile or damaged (and would overflow recursion). */
export const MAX_JSON_DEPTH = 32;
/** Upper bound for a metadata text (outer or inner). Real documents are far below this. */
export const MAX_JSON_LENGTH = 64 * 1024 * 1024;

export type JsonObject = { readonly [member: string]: unknown };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads an own member only (never something inherited such as `constructor`). */
export function member(o: JsonObject, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, name) ? o[name] : undefined;
}

export function hasMember(o: JsonObject, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, name);
}

/** Iterative depth check (no recursion, so hostile nesting cannot overflow the stack). */
export function checkDepth(value: unknown, maxDepth: number, what: string): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > maxDepth) {
      throw fail(
        'metadata',
        `${what} is nested too deeply. It is damaged or was not written by a Nextcloud client.`,
      );
    }
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) if (typeof c === 'object' && c !== null) stack.push([c, d + 1]);
  }
}

/** JSON.parse with a size and depth limit; every failure is a typed `metadata` error. */
export function parseJsonText(text: string, what: string): unknown {
  if (typeof text !== 'string') throw fail('metadata', `${what} is not text. It may be damaged.`);
  if (text.length > MAX_JSON_LENGTH) {
    throw fail('metadata', `${what} is too large. It may be damaged or hostile.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw fail(
      'metadata',
      `${what} is not valid JSON. It is damaged or was not written by a Nextcloud client.`,
      {
        cause: e,
      },
    );
  }
  checkDepth(value, MAX_JSON_DEPTH, what);
  return value;
}
