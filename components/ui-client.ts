/** Typed calls from extension pages (popup, side panel, options, connect, folder view) to the background. */
import { browser } from 'wxt/browser';
import { call, callOrThrow, uiChannel, type Reply, type UiCommands } from '@/lib/messages';

const send = (m: unknown): Promise<unknown> => browser.runtime.sendMessage(m);

export function uiCall<C extends keyof UiCommands>(
  cmd: C,
  payload: UiCommands[C]['payload'],
): Promise<Reply<UiCommands[C]['result']>> {
  return call(uiChannel, send, cmd, payload);
}

export function uiCallOrThrow<C extends keyof UiCommands>(
  cmd: C,
  payload: UiCommands[C]['payload'],
): Promise<UiCommands[C]['result']> {
  return callOrThrow(uiChannel, send, cmd, payload);
}
