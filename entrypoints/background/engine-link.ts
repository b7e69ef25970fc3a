/**
 * How the background reaches the engine host.
 * - Chrome: the offscreen document, created on demand (and again after it or the service worker went away).
 * - Firefox: the background page hosts the engine itself (no offscreen API); the dispatcher runs in-process.
 */
import { browser } from 'wxt/browser';
import {
  engineChannel,
  errorReply,
  type EngineCommands,
  type EngineRequest,
  type ErrorReply,
  type Reply,
} from '@/lib/messages';
import { createEngineDispatcher, setBadgeSink, type EngineDispatcher } from '../offscreen/engine-host';
import { setApprovalBadge } from './device-routes';
import { downloadState, saveDownload } from './downloads';
import { createTransferHost } from '../offscreen/transfer-host';

const OFFSCREEN_PATH = '/offscreen.html';
const ENGINE_TIMEOUT_MS = 60_000;

let creating: Promise<void> | null = null;

async function ensureOffscreen(): Promise<void> {
  const url = chrome.runtime.getURL(OFFSCREEN_PATH);
  const existing = await chrome.runtime.getContexts({
    contextTypes: ['OFFSCREEN_DOCUMENT' as chrome.runtime.ContextType],
    documentUrls: [url],
  });
  if (existing.length > 0) return;
  // Several messages may arrive at once after a service-worker restart: create the document only once.
  creating ??= chrome.offscreen
    .createDocument({
      url: OFFSCREEN_PATH,
      reasons: ['WORKERS' as chrome.offscreen.Reason],
      justification:
        'Runs Cipherfold encryption and keeps the unlocked key ring while the service worker sleeps.',
    })
    .catch((e: unknown) => {
      // A concurrent creation from an earlier worker instance wins; that is fine.
      if (!(e instanceof Error && /single offscreen|only a single/i.test(e.message))) throw e;
    })
    .finally(() => {
      creating = null;
    });
  await creating;
}

function unavailable(id: EngineRequest['id']): ErrorReply {
  return errorReply(
    id,
    'internal',
    "Cipherfold's engine did not answer. It may have been restarted by the browser. Try again in a moment.",
  );
}

let inProcess: EngineDispatcher | null = null;

async function sendToOffscreen(request: EngineRequest): Promise<unknown> {
  await ensureOffscreen();
  // The document may still be loading its script right after creation: retry "no receiver" briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      return await chrome.runtime.sendMessage(request);
    } catch (e) {
      const noReceiver =
        e instanceof Error && /Receiving end does not exist|message port closed/i.test(e.message);
      if (!noReceiver || attempt >= 10) throw e;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
      await ensureOffscreen();
    }
  }
}

/** Sends one engine request and validates the reply; never throws. */
export async function callEngine<C extends keyof EngineCommands>(
  cmd: C,
  payload: EngineCommands[C]['payload'],
): Promise<Reply<EngineCommands[C]['result']>> {
  const request = engineChannel.request(cmd, payload) as EngineRequest;
  let raw: unknown;
  try {
    if (import.meta.env.CHROME) {
      raw = await Promise.race([
        sendToOffscreen(request),
        new Promise((_, reject) => setTimeout(() => reject(new Error('engine timeout')), ENGINE_TIMEOUT_MS)),
      ]);
    } else {
      if (!inProcess) setBadgeSink((count) => void setApprovalBadge(count).catch(() => undefined));
      inProcess ??= createEngineDispatcher({
        host: 'background',
        version: browser.runtime.getManifest().version,
        transferHost: createTransferHost({ save: saveDownload, state: downloadState }),
      });
      raw = await inProcess.dispatch(request);
    }
  } catch {
    return unavailable(request.id);
  }
  if (!engineChannel.isReplyTo({ id: request.id, cmd }, raw)) return unavailable(request.id);
  return raw;
}
