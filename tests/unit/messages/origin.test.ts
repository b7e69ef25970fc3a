import { describe, expect, it } from 'vitest';
import { isServerOrigin, matchPatternFor, normalizeServerOrigin, originOf } from '../../../lib/messages';
import { filesFolderFromUrl } from '../../../entrypoints/content/files-url';

describe('server origins', () => {
  it('normalises and validates', () => {
    expect(normalizeServerOrigin('https://Cloud.Example.org')).toBe('https://cloud.example.org');
    expect(normalizeServerOrigin('https://cloud.example.org:443')).toBe('https://cloud.example.org');
    expect(normalizeServerOrigin('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    for (const bad of [
      'https://a.org/',
      'https://a.org/nc',
      'https://u:p@a.org',
      'ftp://a.org',
      'a.org',
      'https://a.org?x',
      'javascript:alert(1)',
    ]) {
      expect(normalizeServerOrigin(bad), bad).toBeNull();
    }
    expect(isServerOrigin('https://cloud.example.org')).toBe(true);
    expect(isServerOrigin('https://Cloud.example.org')).toBe(false);
    expect(isServerOrigin(42)).toBe(false);
  });

  it('derives sender origins, including extension schemes', () => {
    expect(originOf('moz-extension://0d7e2b1c-aaaa/popup.html')).toBe('moz-extension://0d7e2b1c-aaaa');
    expect(originOf('chrome-extension://abc/x.html?y#z')).toBe('chrome-extension://abc');
    expect(originOf('https://a.org:8443/x')).toBe('https://a.org:8443');
    expect(originOf('about:blank')).toBeNull();
    expect(originOf('not a url')).toBeNull();
  });

  it('builds host match patterns without port', () => {
    expect(matchPatternFor('http://127.0.0.1:8080')).toBe('http://127.0.0.1/*');
    expect(matchPatternFor('https://cloud.example.org')).toBe('https://cloud.example.org/*');
    expect(() => matchPatternFor('https://a.org/x')).toThrow();
  });
});

describe('files app URL', () => {
  it('finds the folder', () => {
    expect(filesFolderFromUrl('https://a.org/apps/files/?dir=/Photos/2024')).toBe('/Photos/2024');
    expect(filesFolderFromUrl('https://a.org/index.php/apps/files/files/12?dir=%2FA%20B')).toBe('/A B');
    expect(filesFolderFromUrl('https://a.org/apps/files/')).toBe('/');
    expect(filesFolderFromUrl('https://a.org/apps/filesx/?dir=/A')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/photos/')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/files/?dir=relative')).toBeNull();
  });
});

describe('folder-view embedding', () => {
  const w = (o: Partial<{ top: unknown; ancestors: string[]; referrer: string }>) => {
    const self = {};
    return {
      self,
      top: o.top ?? self,
      location: o.ancestors ? { ancestorOrigins: Object.assign([...o.ancestors], {}) } : {},
      document: { referrer: o.referrer ?? '' },
    };
  };
  const connected = ['https://cloud.example.org'];

  it('allows top level and connected parents, refuses others and unknown parents', async () => {
    const { embeddingOf, isAllowedEmbedding } = await import('../../../entrypoints/folder-view/embedder');
    expect(isAllowedEmbedding(embeddingOf(w({})), connected)).toBe(true);
    expect(
      isAllowedEmbedding(embeddingOf(w({ top: {}, ancestors: ['https://cloud.example.org'] })), connected),
    ).toBe(true);
    expect(
      isAllowedEmbedding(embeddingOf(w({ top: {}, ancestors: ['https://evil.example'] })), connected),
    ).toBe(false);
    // Firefox: no ancestorOrigins, use the referrer; none at all → refused
    expect(
      isAllowedEmbedding(
        embeddingOf(w({ top: {}, referrer: 'https://cloud.example.org/apps/files/' })),
        connected,
      ),
    ).toBe(true);
    expect(isAllowedEmbedding(embeddingOf(w({ top: {} })), connected)).toBe(false);
  });
});
