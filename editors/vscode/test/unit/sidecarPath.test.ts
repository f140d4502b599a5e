import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { binaryName, locateSidecar, SidecarNotFoundError, type SidecarLookup } from '../../src/sidecarPath';

function lookup(files: string[], overrides: Partial<SidecarLookup> = {}): SidecarLookup {
  const executables = new Set(files);
  return {
    configured: '',
    extensionPath: '/ext',
    platform: 'linux',
    homeDir: '/home/ada',
    pathEnv: '/usr/local/bin:/usr/bin',
    isExecutable: (file) => executables.has(file),
    ...overrides,
  };
}

describe('locateSidecar', () => {
  it('prefers the bundled binary over PATH', () => {
    const got = locateSidecar(lookup(['/ext/bin/poe-sidecar', '/usr/bin/poe-sidecar']));
    assert.deepEqual(got, { path: '/ext/bin/poe-sidecar', source: 'bundled' });
  });

  it('falls back to PATH in order', () => {
    const got = locateSidecar(lookup(['/usr/local/bin/poe-sidecar', '/usr/bin/poe-sidecar']));
    assert.deepEqual(got, { path: '/usr/local/bin/poe-sidecar', source: 'path' });
  });

  it('skips empty PATH entries', () => {
    assert.throws(() => locateSidecar(lookup(['poe-sidecar'], { pathEnv: ':' })), SidecarNotFoundError);
  });

  it('uses the setting over the bundled binary', () => {
    const got = locateSidecar(lookup(['/opt/poe/poe-sidecar', '/ext/bin/poe-sidecar'], { configured: '/opt/poe/poe-sidecar' }));
    assert.deepEqual(got, { path: '/opt/poe/poe-sidecar', source: 'setting' });
  });

  it('expands a leading tilde', () => {
    const got = locateSidecar(lookup(['/home/ada/go/bin/poe-sidecar'], { configured: '~/go/bin/poe-sidecar' }));
    assert.equal(got.path, '/home/ada/go/bin/poe-sidecar');
  });

  it('looks a bare configured name up on PATH', () => {
    const got = locateSidecar(lookup(['/usr/bin/poe-sidecar-dev'], { configured: 'poe-sidecar-dev' }));
    assert.deepEqual(got, { path: '/usr/bin/poe-sidecar-dev', source: 'setting' });
  });

  it('reports a configured path that is missing without falling back', () => {
    assert.throws(
      () => locateSidecar(lookup(['/ext/bin/poe-sidecar'], { configured: '/opt/missing' })),
      (error: unknown) => error instanceof SidecarNotFoundError && /"\/opt\/missing", which is not an executable file/.test(error.message),
    );
  });

  it('rejects a relative configured path', () => {
    assert.throws(
      () => locateSidecar(lookup([], { configured: 'bin/poe-sidecar' })),
      /must be an absolute path or a name on PATH, not "bin\/poe-sidecar"/,
    );
  });

  it('lists every place searched when nothing is found', () => {
    assert.throws(
      () => locateSidecar(lookup([])),
      (error: unknown) => error instanceof SidecarNotFoundError && error.tried.includes('/ext/bin/poe-sidecar') && /poe.sidecar.path/.test(error.message),
    );
  });

  it('adds .exe on Windows', () => {
    assert.equal(binaryName('win32'), 'poe-sidecar.exe');
    const got = locateSidecar(
      lookup(['C:\\tools\\poe-sidecar.exe'], { platform: 'win32', extensionPath: 'C:\\ext', pathEnv: 'C:\\tools;C:\\Windows' }),
    );
    assert.deepEqual(got, { path: 'C:\\tools\\poe-sidecar.exe', source: 'path' });
  });

  describe('on disk', () => {
    let root: string;
    before(async () => {
      root = await mkdtemp(path.join(tmpdir(), 'poe-vscode-path-'));
      await mkdir(path.join(root, 'ext', 'bin'), { recursive: true });
      await mkdir(path.join(root, 'path'));
      await writeFile(path.join(root, 'ext', 'bin', 'poe-sidecar'), '#!/bin/sh\n');
      await writeFile(path.join(root, 'path', 'poe-sidecar'), '#!/bin/sh\n');
      await chmod(path.join(root, 'path', 'poe-sidecar'), 0o755);
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('skips a bundled file that is not executable', { skip: process.platform === 'win32' ? 'Windows has no execute bit' : false }, () => {
      const got = locateSidecar({
        configured: '',
        extensionPath: path.join(root, 'ext'),
        platform: process.platform,
        homeDir: root,
        pathEnv: path.join(root, 'path'),
      });
      assert.equal(got.source, 'path');
    });

    it('skips a folder with the binary name', async () => {
      await mkdir(path.join(root, 'dir', 'poe-sidecar'), { recursive: true });
      const got = locateSidecar({
        configured: '',
        extensionPath: path.join(root, 'none'),
        platform: process.platform,
        homeDir: root,
        pathEnv: `${path.join(root, 'dir')}:${path.join(root, 'path')}`,
      });
      assert.deepEqual(got, { path: path.join(root, 'path', 'poe-sidecar'), source: 'path' });
    });
  });
});
