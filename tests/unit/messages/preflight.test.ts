import { describe, expect, it } from 'vitest';
import {
  classifySender,
  isFromBackground,
  preflight,
  type PreflightContext,
  type RequestId,
} from '../../../lib/messages';

const EXT = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const ctx: PreflightContext = {
  runtimeId: 'abcdefghijklmnopabcdefghijklmnop',
  extensionOrigin: EXT,
  connectedOrigins: ['https://cloud.example.org', 'http://127.0.0.1:8080'],
};
const id = 'req-0123456789' as RequestId;

const popup = { id: ctx.runtimeId, url: `${EXT}/popup.html`, origin: EXT };
const folderViewFrame = { id: ctx.runtimeId, url: `${EXT}/folder-view.html#v=1`, tab: { id: 4 }, frameId: 7 };
const contentScript = {
  id: ctx.runtimeId,
  url: 'https://cloud.example.org/apps/files/?dir=/',
  origin: 'https://cloud.example.org',
  tab: { id: 4 },
  frameId: 0,
};
const uiMsg = { channel: 'ui', id, cmd: 'engine/status', payload: {} };
const contentMsg = { channel: 'content', id, cmd: 'content/is-encrypted-folder', payload: { path: '/' } };

describe('classifySender', () => {
  it('recognises extension pages (popup, and the folder-view iframe inside a tab)', () => {
    expect(classifySender(popup, ctx).kind).toBe('extension-page');
    expect(classifySender(folderViewFrame, ctx).kind).toBe('extension-page');
    expect(
      classifySender(
        { ...popup, url: 'moz-extension://x/popup.html', origin: 'moz-extension://x' },
        { ...ctx, extensionOrigin: 'moz-extension://x' },
      ).kind,
    ).toBe('extension-page');
  });

  it('recognises our content script on a connected origin, top frame only, exact port', () => {
    const c = classifySender(contentScript, ctx);
    expect(c).toMatchObject({ kind: 'content-script', origin: 'https://cloud.example.org', tabId: 4 });
    expect(
      classifySender({ ...contentScript, url: 'http://127.0.0.1:8080/x', origin: undefined }, ctx).kind,
    ).toBe('content-script');
    expect(
      classifySender({ ...contentScript, url: 'http://127.0.0.1:8081/x', origin: undefined }, ctx).kind,
    ).toBe('rejected');
    expect(classifySender({ ...contentScript, frameId: 2 }, ctx).kind).toBe('rejected');
    expect(classifySender({ ...contentScript, tab: undefined }, ctx).kind).toBe('rejected');
  });

  it.each([
    ['another extension', { ...popup, id: 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz' }],
    ['no id', { url: popup.url }],
    ['no url', { id: ctx.runtimeId }],
    [
      'other extension origin under our id',
      { ...popup, url: 'chrome-extension://other/popup.html', origin: undefined },
    ],
    ['origin disagrees with url', { ...popup, origin: 'https://evil.example' }],
    [
      'unconnected web origin',
      { ...contentScript, url: 'https://evil.example/', origin: 'https://evil.example' },
    ],
    [
      'lookalike host',
      { ...contentScript, url: 'https://cloud.example.org.evil.example/', origin: undefined },
    ],
    ['data url', { ...contentScript, url: 'data:text/html,hi', origin: undefined }],
    ['not an object', 'popup'],
    ['null', null],
  ])('rejects %s', (_n, sender) => {
    expect(classifySender(sender, ctx).kind).toBe('rejected');
  });
});

describe('preflight', () => {
  it('lets extension pages use the ui channel only', () => {
    expect(preflight(uiMsg, popup, ctx)).toMatchObject({ ok: true, channel: 'ui' });
    const r = preflight(contentMsg, popup, ctx);
    expect(r).toMatchObject({ ok: false, reply: { id, ok: false, error: { kind: 'permission' } } });
  });

  it('lets content scripts use the content channel only', () => {
    expect(preflight(contentMsg, contentScript, ctx)).toMatchObject({
      ok: true,
      channel: 'content',
      sender: { origin: 'https://cloud.example.org', tabId: 4 },
    });
    for (const cmd of ['engine/status', 'engine/ping', 'origins/connect', 'origins/list']) {
      const r = preflight({ channel: 'ui', id, cmd, payload: {} }, contentScript, ctx);
      expect(r).toMatchObject({ ok: false, reply: { error: { kind: 'permission' } } });
    }
    expect(
      preflight({ channel: 'engine', id, cmd: 'engine/status', payload: {} }, contentScript, ctx).ok,
    ).toBe(false);
  });

  it('refuses everything from unknown senders, even well-formed requests', () => {
    const r = preflight(uiMsg, { ...popup, id: 'other' }, ctx);
    expect(r).toMatchObject({ ok: false, reply: { id, error: { kind: 'permission' } } });
  });

  it('answers malformed messages from trusted senders with a typed error', () => {
    expect(preflight({ channel: 'ui', id, cmd: 'nope', payload: {} }, popup, ctx)).toMatchObject({
      ok: false,
      reply: { error: { kind: 'unsupported' } },
    });
    expect(preflight({ channel: 'ui', id, cmd: 'engine/status', payload: null }, popup, ctx)).toMatchObject({
      ok: false,
      reply: { error: { kind: 'format' } },
    });
  });
});

describe('isFromBackground', () => {
  const bg = `${EXT}/background.js`;
  it('accepts only the extension service worker', () => {
    expect(isFromBackground({ id: ctx.runtimeId, url: bg }, ctx.runtimeId, bg)).toBe(true);
    expect(isFromBackground({ id: ctx.runtimeId, url: `${EXT}/popup.html` }, ctx.runtimeId, bg)).toBe(false);
    expect(isFromBackground({ id: ctx.runtimeId, url: bg, tab: { id: 1 } }, ctx.runtimeId, bg)).toBe(false);
    expect(isFromBackground({ id: 'other', url: bg }, ctx.runtimeId, bg)).toBe(false);
  });
});
