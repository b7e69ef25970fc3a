/**
 * `accounts/*` ui commands: forwarded unchanged to the engine host (same command names and shapes on the
 * engine channel, see lib/messages/accounts.ts). Only extension pages reach this (sender preflight).
 */
import { isAccountCommand, okReply, type AccountCommands, type Reply, type UiRequest } from '@/lib/messages';
import { callEngine } from './engine-link';

export type AccountUiRequest = Extract<UiRequest, { cmd: keyof AccountCommands }>;

export function isAccountUiRequest(request: UiRequest): request is AccountUiRequest {
  return isAccountCommand(request.cmd);
}

export async function handleAccountUi(request: AccountUiRequest): Promise<Reply<unknown>> {
  const r = await callEngine(
    request.cmd as keyof AccountCommands,
    request.payload as AccountCommands[keyof AccountCommands]['payload'],
  );
  return r.ok ? okReply(request.id, r.result) : { ...r, id: request.id };
}
