// The test image must be right before any daemon test can mean anything: unpack it
// with the host's own tar and run its shell in a chroot.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUSYBOX_PATH_ENV, busyboxImage, rootfsTar, sha256Hex } from './images.js';
import { runProgram } from './process.js';

test('busybox docker-save tarball has a legacy manifest, a config and a runnable layer', async () => {
  const image = await busyboxImage();
  const dir = mkdtempSync(join(tmpdir(), 'berth-image-test-'));
  try {
    const untar = await runProgram('tar', ['-xf', image.path, '-C', dir]);
    assert.equal(untar.code, 0, untar.stderr);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    assert.equal(manifest.length, 1);
    const [m] = manifest;
    assert.ok(m);
    assert.deepEqual(m.RepoTags, ['busybox:latest']);
    assert.equal(m.Layers.length, 1);
    const configBytes = readFileSync(join(dir, m.Config));
    assert.equal(`sha256:${sha256Hex(configBytes)}`, image.imageId);
    assert.equal(m.Config, `${image.imageId.slice(7)}.json`);
    const config = JSON.parse(configBytes.toString('utf8')) as {
      architecture: string;
      os: string;
      config: { Env: string[]; Cmd: string[] };
      rootfs: { type: string; diff_ids: string[] };
      history: unknown[];
    };
    assert.equal(config.architecture, 'amd64');
    assert.equal(config.os, 'linux');
    assert.deepEqual(config.config, { Env: [BUSYBOX_PATH_ENV], Cmd: ['sh'] });
    const layer = readFileSync(join(dir, m.Layers[0] ?? ''));
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [`sha256:${sha256Hex(layer)}`] });
    assert.equal(config.history.length, 1);

    const root = join(dir, 'rootfs');
    const unpack = await runProgram('tar', ['-xpf', join(dir, m.Layers[0] ?? ''), '--one-top-level=rootfs'], {
      cwd: dir,
    });
    assert.equal(unpack.code, 0, unpack.stderr);
    assert.equal(statSync(join(root, 'tmp')).mode & 0o7777, 0o1777);
    const sh = await runProgram('chroot', [
      root,
      '/bin/sh',
      '-c',
      'echo ok; id -un; id -u app; ls /bin/sleep',
    ]);
    assert.equal(sh.code, 0, sh.stderr);
    assert.equal(sh.stdout, 'ok\nroot\n1000\n/bin/sleep\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rootfsTar is the same filesystem as the image layer', async () => {
  const image = await busyboxImage();
  const dir = mkdtempSync(join(tmpdir(), 'berth-image-test-'));
  try {
    await runProgram('tar', ['-xf', image.path, '-C', dir]);
    const [m] = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const layer = readFileSync(join(dir, m?.Layers[0] ?? ''));
    assert.ok(readFileSync(await rootfsTar()).equals(layer));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
