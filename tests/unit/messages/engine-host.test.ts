import { describe, expect, it } from 'vitest';
import { createEngineDispatcher } from '../../../entrypoints/offscreen/engine-host';
import { engineChannel, isErrorReply } from '../../../lib/messages';

describe('engine dispatcher', () => {
  const engine = createEngineDispatcher({ host: 'offscreen', version: '9.9.9' });

  it('answers ping and status', async () => {
    const ping = engineChannel.request('engine/ping', {});
    expect(await engine.dispatch(ping)).toEqual({
      id: ping.id,
      ok: true,
      result: { version: '9.9.9', host: 'offscreen' },
    });
    const status = engineChannel.request('engine/status', {});
    expect(await engine.dispatch(status)).toEqual({
      id: status.id,
      ok: true,
      result: { accounts: [], locked: true },
    });
  });

  it('opens views with unguessable ids', async () => {
    const req = engineChannel.request('engine/open-view', { origin: 'https://a.org', tabId: 1, path: '/' });
    const a = await engine.dispatch(req);
    const b = await engine.dispatch(
      engineChannel.request('engine/open-view', { origin: 'https://a.org', tabId: 1, path: '/' }),
    );
    expect(engineChannel.isReplyTo(req, a)).toBe(true);
    expect(a).not.toEqual(b);
  });

  it('rejects other channels and malformed requests with typed errors', async () => {
    const r = await engine.dispatch({
      channel: 'ui',
      id: 'req-0123456789',
      cmd: 'engine/status',
      payload: {},
    });
    expect(isErrorReply(r)).toBe(true);
    const u = await engine.dispatch({
      channel: 'engine',
      id: 'req-0123456789',
      cmd: 'engine/unlock',
      payload: {},
    });
    expect(u).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
  });
});
