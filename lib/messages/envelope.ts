/**
 * The envelope every Cipherfold message uses, and a small factory that turns a command table into a
 * validated channel (one discriminated union per channel).
 *
 *   request: { channel, id, cmd, payload }
 *   reply:   { id, ok: true, result } | { id, ok: false, error: { kind, message } }
 *
 * Validation is strict (exact keys, bounded strings) and never echoes the offending value back, so a
 * rejected message cannot be used to reflect data into an error text.
 */
import { ERROR_KINDS, isCipherfoldError, type ErrorKind } from '../errors';
import { isRecord, stringOf, type Guard } from './guards';

declare const requestIdBrand: unique symbol;
/** An opaque id that pairs a reply with its request. */
export type RequestId = string & { readonly [requestIdBrand]: true };

const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

export const isRequestId = (x: unknown): x is RequestId => typeof x === 'string' && REQUEST_ID.test(x);

export function newRequestId(): RequestId {
  return globalThis.crypto.randomUUID() as RequestId;
}

/**
 * Error kinds a reply may carry: every `CipherfoldError` kind, plus `internal` for failures that are bugs
 * or a missing engine host (nothing the user did). `internal` never carries details of the cause.
 */
export type ReplyErrorKind = ErrorKind | 'internal';
const REPLY_ERROR_KINDS: readonly string[] = [...ERROR_KINDS, 'internal'];

export interface ReplyError {
  kind: ReplyErrorKind;
  message: string;
}

export interface OkReply<R> {
  id: RequestId;
  ok: true;
  result: R;
}

export interface ErrorReply {
  /** `null` when the request was too malformed to have an id. */
  id: RequestId | null;
  ok: false;
  error: ReplyError;
}

export type Reply<R> = OkReply<R> | ErrorReply;

export const isReplyError: Guard<ReplyError> = (x): x is ReplyError =>
  isRecord(x) &&
  Object.keys(x).length === 2 &&
  typeof x.kind === 'string' &&
  REPLY_ERROR_KINDS.includes(x.kind) &&
  stringOf(2000)(x.message);

export function isErrorReply(x: unknown): x is ErrorReply {
  return (
    isRecord(x) &&
    Object.keys(x).length === 3 &&
    x.ok === false &&
    (x.id === null || isRequestId(x.id)) &&
    isReplyError(x.error)
  );
}

export function errorReply(id: RequestId | null, kind: ReplyErrorKind, message: string): ErrorReply {
  return { id, ok: false, error: { kind, message } };
}

export function okReply<R>(id: RequestId, result: R): OkReply<R> {
  return { id, ok: true, result };
}

/**
 * Turns anything thrown by a handler into an error reply. A `CipherfoldError` keeps its kind and its
 * (already user-safe) message; anything else becomes `internal` with a fixed text, because an unknown
 * exception's message may contain data we must not pass on.
 */
export function replyFromError(id: RequestId | null, e: unknown): ErrorReply {
  if (isCipherfoldError(e)) return errorReply(id, e.kind, e.message);
  return errorReply(
    id,
    'internal',
    'Cipherfold hit an unexpected problem. This is a bug, not something you did. Try again; if it keeps happening, reload the extension.',
  );
}

export interface CommandSpec<P, R> {
  payload: Guard<P>;
  result: Guard<R>;
}

/** A table `cmd -> { payload, result }` describing one channel. */
export type CommandMap = { [cmd: string]: { payload: unknown; result: unknown } };

export type SpecOf<M extends CommandMap> = { [C in keyof M]: CommandSpec<M[C]['payload'], M[C]['result']> };

export type CommandOf<M extends CommandMap> = keyof M & string;

/** The discriminated union of all requests on a channel. */
export type RequestOf<Ch extends string, M extends CommandMap> = {
  [C in CommandOf<M>]: { channel: Ch; id: RequestId; cmd: C; payload: M[C]['payload'] };
}[CommandOf<M>];

export type RequestFor<Ch extends string, M extends CommandMap, C extends CommandOf<M>> = Extract<
  RequestOf<Ch, M>,
  { cmd: C }
>;

export type CheckResult<T> = { ok: true; request: T } | { ok: false; reply: ErrorReply };

export interface Channel<Ch extends string, M extends CommandMap> {
  readonly name: Ch;
  readonly commands: readonly CommandOf<M>[];
  isCommand(x: unknown): x is CommandOf<M>;
  /** True for anything that claims to be on this channel (whether or not it is valid). */
  claims(x: unknown): boolean;
  isRequest(x: unknown): x is RequestOf<Ch, M>;
  /** Validates a received message and, when it is not valid, builds the typed error reply. */
  check(x: unknown): CheckResult<RequestOf<Ch, M>>;
  request<C extends CommandOf<M>>(cmd: C, payload: M[C]['payload'], id?: RequestId): RequestFor<Ch, M, C>;
  /** Validates a reply to `request` (same id, result of the right shape, or a typed error). */
  isReplyTo<C extends CommandOf<M>>(
    request: { id: RequestId; cmd: C },
    x: unknown,
  ): x is Reply<M[C]['result']>;
  isResult<C extends CommandOf<M>>(cmd: C, x: unknown): x is M[C]['result'];
}

export function defineChannel<Ch extends string, M extends CommandMap>(
  name: Ch,
  spec: SpecOf<M>,
): Channel<Ch, M> {
  const commands = Object.keys(spec) as CommandOf<M>[];
  const isCommand = (x: unknown): x is CommandOf<M> =>
    typeof x === 'string' && Object.prototype.hasOwnProperty.call(spec, x);

  const check = (x: unknown): CheckResult<RequestOf<Ch, M>> => {
    const id = isRecord(x) && isRequestId(x.id) ? x.id : null;
    const bad = (kind: ReplyErrorKind, message: string): CheckResult<RequestOf<Ch, M>> => ({
      ok: false,
      reply: errorReply(id, kind, message),
    });
    if (!isRecord(x) || x.channel !== name || id === null) {
      return bad('format', 'Cipherfold received a malformed message. It was ignored. No action is needed.');
    }
    const keys = Object.keys(x);
    if (keys.length !== 4 || !('cmd' in x) || !('payload' in x)) {
      return bad('format', 'Cipherfold received a malformed message. It was ignored. No action is needed.');
    }
    if (!isCommand(x.cmd)) {
      return bad(
        'unsupported',
        'Cipherfold received an unknown command. It was ignored. Update the extension if this persists.',
      );
    }
    if (!spec[x.cmd].payload(x.payload)) {
      return bad(
        'format',
        'Cipherfold received a command with invalid arguments. It was ignored. No action is needed.',
      );
    }
    return { ok: true, request: x as RequestOf<Ch, M> };
  };

  return {
    name,
    commands,
    isCommand,
    claims: (x) => isRecord(x) && x.channel === name,
    isRequest: (x): x is RequestOf<Ch, M> => check(x).ok,
    check,
    request: (cmd, payload, id = newRequestId()) =>
      ({ channel: name, id, cmd, payload }) as unknown as RequestFor<Ch, M, typeof cmd>,
    isReplyTo: (request, x): x is Reply<M[typeof request.cmd]['result']> => {
      if (isErrorReply(x)) return x.id === request.id;
      return (
        isRecord(x) &&
        Object.keys(x).length === 3 &&
        x.ok === true &&
        x.id === request.id &&
        spec[request.cmd].result(x.result)
      );
    },
    isResult: (cmd, x): x is M[typeof cmd]['result'] => spec[cmd].result(x),
  };
}
