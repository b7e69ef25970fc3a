import { describe, expect, it } from 'vitest';
import {
  filesFolderFromUrl,
  filesLocationFromUrl,
  normaliseDir,
} from '../../../entrypoints/content/files-url';

describe('Files app URL recognition', () => {
  it('reads the view, file id and folder of /index.php URLs', () => {
    expect(
      filesLocationFromUrl('https://cloud.example.org/index.php/apps/files/files/87?dir=/secret'),
    ).toEqual({
      base: '',
      view: 'files',
      fileId: '87',
      dir: '/secret',
    });
  });

  it('accepts pretty URLs without /index.php and a missing dir', () => {
    expect(filesLocationFromUrl('https://a.org/apps/files/files/5?dir=%2FA%20B%2FC')).toMatchObject({
      base: '',
      fileId: '5',
      dir: '/A B/C',
    });
    expect(filesLocationFromUrl('https://a.org/apps/files/')).toMatchObject({
      view: 'files',
      fileId: null,
      dir: '/',
    });
    expect(filesLocationFromUrl('https://a.org/apps/files')).toMatchObject({ dir: '/' });
  });

  it('handles sub-path installs', () => {
    expect(filesLocationFromUrl('https://host/nextcloud/index.php/apps/files/files/9?dir=/x')).toEqual({
      base: '/nextcloud',
      view: 'files',
      fileId: '9',
      dir: '/x',
    });
    expect(filesLocationFromUrl('https://host/a/b/apps/files/files/9?dir=/x')).toMatchObject({
      base: '/a/b',
    });
  });

  it('normalises folders and refuses traversal or relative paths', () => {
    expect(normaliseDir('/A//B/')).toBe('/A/B');
    expect(normaliseDir('/')).toBe('/');
    expect(normaliseDir('relative')).toBeNull();
    expect(normaliseDir('/A/../B')).toBeNull();
    expect(normaliseDir('/A/./B')).toBeNull();
    expect(normaliseDir('/A\0')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/files/?dir=/A/../../etc')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/files/?dir=relative')).toBeNull();
  });

  it('ignores views without a folder tree and other apps', () => {
    expect(filesLocationFromUrl('https://a.org/index.php/apps/files/recent?dir=/')).toBeNull();
    expect(filesLocationFromUrl('https://a.org/index.php/apps/files/favorites/3?dir=/')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/filesx/?dir=/A')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/photos/')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/index.php/apps/files/files/abc?dir=/')).toBeNull();
    expect(filesFolderFromUrl('https://a.org/apps/files/apps/files/?dir=/')).toBeNull();
    expect(filesFolderFromUrl('ftp://a.org/apps/files/?dir=/')).toBeNull();
    expect(filesFolderFromUrl('not a url')).toBeNull();
  });

  it('keeps the legacy helper working', () => {
    expect(filesFolderFromUrl('https://a.org/apps/files/?dir=/Photos/2024')).toBe('/Photos/2024');
    expect(filesFolderFromUrl('https://a.org/index.php/apps/files/files/12?dir=%2FA%20B')).toBe('/A B');
    expect(filesFolderFromUrl('https://a.org/apps/files/')).toBe('/');
  });
});
