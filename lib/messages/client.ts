/**
 * Sending side of a channel. The transport is injected (the extension's runtime messaging, passed in by
 * the entrypoints; a fake in tests), so this module uses no extension API and stays pure.
 */
import {
  errorReply,
  type Channel,
  type CommandMap,
  type CommandOf,
  type ErrorReply,
  type Reply,
  type ReplyError,
} from './envelope';

export type Send = (message: unknown) => Promise<unknown>;

/** Thrown by `callOrThrow` when the receiver answered with a typed error (or nothing valid). */
export class ReplyFailure extends Error {
  readonly kind: ReplyError['kind'];
  constructor(error: ReplyError) {
    super(error.message);
    this.name = 'ReplyFailure';
    this.kind = error.kind;
  }
}

const NO_ANSWER =
  'Cipherfold did not get a valid answer from its background. The extension may be restarting. Try again in a moment.';

/** Sends one request and returns the validated reply (never throws). */
export async function call<Ch extends string, M extends CommandMap, C extends CommandOf<M>>(
  channel: Channel<Ch, M>,
  send: Send,
  cmd: C,
  payload: M[C]['payload'],
): Promise<Reply<M[C]['result']>> {
  const request = channel.request(cmd, payload);
  let raw: unknown;
  try {
    raw = await send(request);
  } catch {
    return errorReply(request.id, 'internal', NO_ANSWER);
  }
  if (!channel.isReplyTo({ id: request.id, cmd }, raw))
    return errorReply(request.id, 'internal', NO_ANSWER) as ErrorReply;
  return raw;
}

export async function callOrThrow<Ch extends string, M extends CommandMap, C extends CommandOf<M>>(
  channel: Channel<Ch, M>,
  send: Send,
  cmd: C,
  payload: M[C]['payload'],
): Promise<M[C]['result']> {
  const reply = await call(channel, send, cmd, payload);
  if (!reply.ok) throw new ReplyFailure(reply.error);
  return reply.result;
}
