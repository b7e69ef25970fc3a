/**
 * Tiny runtime type guards for message validation. Pure TypeScript: no browser or Node APIs.
 *
 * A `Guard<T>` decides whether an `unknown` value has the shape `T`. Guards are strict: objects must not
 * carry keys the schema does not name, so a sender cannot smuggle extra fields through a router.
 */
export type Guard<T> = (x: unknown) => x is T;

export function isRecord(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export const isString: Guard<string> = (x): x is string => typeof x === 'string';
export const isBoolean: Guard<boolean> = (x): x is boolean => typeof x === 'boolean';
export const isInteger: Guard<number> = (x): x is number => typeof x === 'number' && Number.isSafeInteger(x);

/** A string of at most `max` UTF-16 code units (default 4096). */
export function stringOf(max = 4096, pattern?: RegExp): Guard<string> {
  return (x): x is string =>
    typeof x === 'string' && x.length <= max && (pattern === undefined || pattern.test(x));
}

export function literal<const T extends string | number | boolean | null>(value: T): Guard<T> {
  return (x): x is T => x === value;
}

export function oneOf<const T extends readonly (string | number)[]>(values: T): Guard<T[number]> {
  return (x): x is T[number] => (values as readonly unknown[]).includes(x);
}

export function arrayOf<T>(item: Guard<T>, maxLength = 10_000): Guard<T[]> {
  return (x): x is T[] => Array.isArray(x) && x.length <= maxLength && x.every((v) => item(v));
}

type GuardedShape<S extends Record<string, Guard<unknown>>> = {
  [K in keyof S]: S[K] extends Guard<infer T> ? T : never;
};

/** An exact object: every key in `shape` present and valid, no other keys. */
export function objectOf<S extends Record<string, Guard<unknown>>>(shape: S): Guard<GuardedShape<S>> {
  const keys = Object.keys(shape);
  return (x): x is GuardedShape<S> => {
    if (!isRecord(x)) return false;
    const own = Object.keys(x);
    if (own.length !== keys.length) return false;
    for (const k of own) {
      const g = shape[k];
      if (g === undefined || !Object.prototype.hasOwnProperty.call(shape, k)) return false;
      if (!g(x[k])) return false;
    }
    return true;
  };
}

/** The empty payload `{}`. */
export type Empty = Record<string, never>;
export const isEmpty: Guard<Empty> = (x): x is Empty => isRecord(x) && Object.keys(x).length === 0;

export function union<A, B>(a: Guard<A>, b: Guard<B>): Guard<A | B> {
  return (x): x is A | B => a(x) || b(x);
}
