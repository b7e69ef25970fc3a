import { describe, expect, it } from 'vitest';
import { fail } from '../../../lib/errors';
import {
  call,
  callOrThrow,
  contentChannel,
  engineChannel,
  isErrorReply,
  newRequestId,
  ReplyFailure,
  replyFromError,
  uiChannel,
  type RequestId,
} from '../../../lib/messages';

const id = 'req-0123456789' as RequestId;

describe('channel.check', () => {
  it('accepts a well-formed request', () => {
    const r = uiChannel.check({ channel: 'ui', id, cmd: 'engine/status', payload: {} });
    expect(r.ok).toBe(true);
  });

  it('builds requests with fresh ids that validate', () => {
    const req = uiChannel.request('origins/connect', { origin: 'https://cloud.example.org' });
    expect(req.id).not.toBe(uiChannel.request('engine/ping', {}).id);
    expect(uiChannel.isRequest(req)).toBe(true);
    expect(newRequestId()).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  });

  it.each([
    ['not an object', 'hello', null, 'format'],
    ['array', [], null, 'format'],
    ['wrong channel', { channel: 'content', id, cmd: 'engine/status', payload: {} }, id, 'format'],
    ['missing id', { channel: 'ui', cmd: 'engine/status', payload: {} }, null, 'format'],
    ['bad id', { channel: 'ui', id: 'x', cmd: 'engine/status', payload: {} }, null, 'format'],
    ['unknown command', { channel: 'ui', id, cmd: 'engine/steal-keys', payload: {} }, id, 'unsupported'],
    ['prototype command', { channel: 'ui', id, cmd: 'toString', payload: {} }, id, 'unsupported'],
    ['extra envelope key', { channel: 'ui', id, cmd: 'engine/status', payload: {}, extra: 1 }, id, 'format'],
    ['missing payload', { channel: 'ui', id, cmd: 'engine/status' }, id, 'format'],
    ['extra payload key', { channel: 'ui', id, cmd: 'engine/status', payload: { a: 1 } }, id, 'format'],
    ['payload is array', { channel: 'ui', id, cmd: 'engine/status', payload: [] }, id, 'format'],
    [
      'origin with path',
      { channel: 'ui', id, cmd: 'origins/connect', payload: { origin: 'https://a.org/x' } },
      id,
      'format',
    ],
    [
      'origin not http',
      { channel: 'ui', id, cmd: 'origins/connect', payload: { origin: 'file:///etc' } },
      id,
      'format',
    ],
  ])('rejects %s with a typed error', (_name, msg, replyId, kind) => {
    const r = uiChannel.check(msg);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(isErrorReply(r.reply)).toBe(true);
    expect(r.reply.id).toBe(replyId);
    expect(r.reply.error.kind).toBe(kind);
  });

  it('does not echo the offending value into the error message', () => {
    const r = uiChannel.check({ channel: 'ui', id, cmd: 'secret-words-here', payload: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reply.error.message).not.toContain('secret-words-here');
  });

  it('rejects objects with a foreign prototype', () => {
    class Fake {
      channel = 'ui';
      id = id;
      cmd = 'engine/status';
      payload = {};
    }
    expect(uiChannel.check(new Fake()).ok).toBe(false);
  });

  it('validates content and engine payloads', () => {
    expect(
      contentChannel.check({
        channel: 'content',
        id,
        cmd: 'content/is-encrypted-folder',
        payload: { path: '/A' },
      }).ok,
    ).toBe(true);
    expect(
      contentChannel.check({
        channel: 'content',
        id,
        cmd: 'content/is-encrypted-folder',
        payload: { path: 'A' },
      }).ok,
    ).toBe(false);
    expect(
      contentChannel.check({
        channel: 'content',
        id,
        cmd: 'content/is-encrypted-folder',
        payload: { path: 'x'.repeat(5000) },
      }).ok,
    ).toBe(false);
    // content scripts cannot name an origin or a tab: those come from the sender
    expect(
      contentChannel.check({
        channel: 'content',
        id,
        cmd: 'content/is-encrypted-folder',
        payload: { path: '/', origin: 'https://evil.example' },
      }).ok,
    ).toBe(false);
    expect(
      engineChannel.check({
        channel: 'engine',
        id,
        cmd: 'engine/open-view',
        payload: { origin: 'https://a.org', tabId: 3, path: '/' },
      }).ok,
    ).toBe(true);
    expect(
      engineChannel.check({
        channel: 'engine',
        id,
        cmd: 'engine/open-view',
        payload: { origin: 'https://a.org', tabId: 1.5, path: '/' },
      }).ok,
    ).toBe(false);
  });
});

describe('replies', () => {
  const req = uiChannel.request('engine/status', {});

  it('accepts a matching ok reply with a valid result', () => {
    expect(uiChannel.isReplyTo(req, { id: req.id, ok: true, result: { accounts: [], locked: true } })).toBe(
      true,
    );
  });

  it('rejects a reply with another id, a wrong result shape, or an unknown error kind', () => {
    expect(
      uiChannel.isReplyTo(req, { id: 'other-id-12345', ok: true, result: { accounts: [], locked: true } }),
    ).toBe(false);
    expect(uiChannel.isReplyTo(req, { id: req.id, ok: true, result: { accounts: [], locked: 'no' } })).toBe(
      false,
    );
    expect(uiChannel.isReplyTo(req, { id: req.id, ok: false, error: { kind: 'oops', message: 'x' } })).toBe(
      false,
    );
    expect(uiChannel.isReplyTo(req, { id: req.id, ok: false, error: { kind: 'auth', message: 'x' } })).toBe(
      true,
    );
  });

  it('maps CipherfoldError to its kind and hides unknown exceptions', () => {
    expect(
      replyFromError(id, fail('locked', 'Folder is locked. Someone else edits it. Try later.')).error,
    ).toEqual({
      kind: 'locked',
      message: 'Folder is locked. Someone else edits it. Try later.',
    });
    const hidden = replyFromError(id, new Error('key=abcdef'));
    expect(hidden.error.kind).toBe('internal');
    expect(hidden.error.message).not.toContain('abcdef');
  });
});

describe('client', () => {
  it('returns the validated result', async () => {
    const result = await callOrThrow(
      uiChannel,
      async (m) => {
        const r = m as { id: RequestId };
        return { id: r.id, ok: true, result: { version: '0.1.0', host: 'offscreen' } };
      },
      'engine/ping',
      {},
    );
    expect(result).toEqual({ version: '0.1.0', host: 'offscreen' });
  });

  it('turns a transport failure or a bogus answer into an internal error', async () => {
    const thrown = await call(
      uiChannel,
      async () => {
        throw new Error('Receiving end does not exist');
      },
      'engine/ping',
      {},
    );
    expect(thrown.ok).toBe(false);
    if (!thrown.ok) expect(thrown.error.kind).toBe('internal');
    const bogus = await call(uiChannel, async () => ({ hello: 1 }), 'engine/ping', {});
    expect(bogus.ok).toBe(false);
  });

  it('throws ReplyFailure carrying the kind', async () => {
    const p = callOrThrow(
      uiChannel,
      async (m) => ({
        id: (m as { id: RequestId }).id,
        ok: false,
        error: { kind: 'permission', message: 'No.' },
      }),
      'origins/list',
      {},
    );
    await expect(p).rejects.toBeInstanceOf(ReplyFailure);
    await expect(p).rejects.toMatchObject({ kind: 'permission' });
  });
});
