import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/index.js';
import { listMounts, unmount } from '../../platform/index.js';
import type { EngineEvent } from '../events.js';
import { openImageStore } from './index.js';
import {
  configFor,
  fingerprint,
  hex,
  legacySaveTar,
  makeTar,
  ociLayoutTar,
  sha256,
  type TarEntry,
} from './test-fixtures.js';

const BUSYBOX = await readFile('/bin/busybox');
const roots: string[] = [];

after(async () => {
  for (const mount of await listMounts()) {
    if (roots.some((r) => mount.target.startsWith(r))) await unmount(mount.target);
  }
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function openStore() {
  const root = await mkdtemp(join(tmpdir(), 'berth-image-'));
  roots.push(root);
  const events: EngineEvent[] = [];
  const store = await openImageStore({ root, events: (e) => events.push(e) });
  return { root, events, ...store };
}

const busyboxLayer = () =>
  makeTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', mode: 0o755, content: BUSYBOX },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'home/app/', type: 'directory', uid: 1000, gid: 1000, mode: 0o750 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);

const smallLayer = (name: string, content = name) => makeTar([{ name, content }]);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function tarNames(tar: Buffer): Promise<string[]> {
  const names: string[] = [];
  const reader = extract();
  reader.end(tar);
  for await (const entry of reader) {
    names.push(entry.header.name);
    entry.resume();
  }
  return names;
}

async function findFiles(dir: string, name: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.name === name) found.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return found;
}

describe('load', () => {
  it('reads a legacy docker-save tarball and names the image as Docker does', async () => {
    const { images, events } = await openStore();
    const layers = [await busyboxLayer(), await smallLayer('etc/motd', 'hello')];
    const config = configFor(layers);
    const lines = await images.load(Readable.from(await legacySaveTar(['busybox:latest'], layers, config)));
    assert.deepEqual(lines, ['Loaded image: busybox:latest']);
    const image = await images.resolve('busybox');
    assert.equal(image.id, sha256(config));
    assert.deepEqual(image.repoTags, ['busybox:latest']);
    for (const ref of [
      'busybox:latest',
      'docker.io/library/busybox:latest',
      hex(image.id),
      hex(image.id).slice(0, 5),
      image.id,
    ]) {
      assert.equal((await images.resolve(ref)).id, image.id, ref);
    }
    assert.ok(image.size >= BUSYBOX.length);
    assert.ok(events.some((e) => e.action === 'load' && e.id === 'busybox:latest'));
    await assert.rejects(images.resolve('nothere'), new NotFoundError('No such image: nothere:latest'));
    await assert.rejects(images.resolve('Busybox'), InvalidArgumentError);
  });

  it('reads the Docker 25+ form (OCI layout plus manifest.json) with gzip layers', async () => {
    const { images } = await openStore();
    const layers = [await busyboxLayer()];
    const tar = await ociLayoutTar(layers, { dockerTags: ['myreg:5000/x/y:tag'], gzipLayers: true });
    assert.deepEqual(await images.load(Readable.from(tar)), ['Loaded image: myreg:5000/x/y:tag']);
    assert.deepEqual((await images.resolve('myreg:5000/x/y:tag')).repoTags, ['myreg:5000/x/y:tag']);
  });

  it('reads a pure OCI layout, named by its ref.name annotation, or by id when unnamed', async () => {
    const { images } = await openStore();
    const named = await ociLayoutTar([await smallLayer('a')], {
      annotations: { 'org.opencontainers.image.ref.name': 'example.com/team/app:1.0' },
    });
    assert.deepEqual(await images.load(Readable.from(named)), ['Loaded image: example.com/team/app:1.0']);
    const unnamed = await ociLayoutTar([await smallLayer('b')]);
    const lines = await images.load(Readable.from(unnamed));
    assert.match(lines[0] ?? '', /^Loaded image ID: sha256:[a-f0-9]{64}$/);
  });

  it('moves a tag to the newly loaded image, leaving the old one dangling', async () => {
    const { images } = await openStore();
    await images.load(Readable.from(await legacySaveTar(['app:1'], [await smallLayer('v1')])));
    const old = await images.resolve('app:1');
    const lines = await images.load(Readable.from(await legacySaveTar(['app:1'], [await smallLayer('v2')])));
    assert.equal(lines.at(-1), 'Loaded image: app:1');
    assert.notEqual((await images.resolve('app:1')).id, old.id);
    const dangling = await images.list({ filters: { dangling: ['true'] } });
    assert.deepEqual(
      dangling.map((i) => i.id),
      [old.id],
    );
  });
});

describe('save', () => {
  it('writes an archive that loads back as the same image', async () => {
    const first = await openStore();
    const layers = [await busyboxLayer(), await smallLayer('etc/motd')];
    await first.images.load(Readable.from(await legacySaveTar(['busybox:latest'], layers)));
    const original = await first.images.resolve('busybox');
    const archive = await readAll(await first.images.save(['busybox']));
    const names = await tarNames(archive);
    for (const name of [
      'oci-layout',
      'index.json',
      'manifest.json',
      'repositories',
      `blobs/sha256/${hex(original.id)}`,
    ]) {
      assert.ok(names.includes(name), name);
    }

    const second = await openStore();
    assert.deepEqual(await second.images.load(Readable.from(archive)), ['Loaded image: busybox:latest']);
    const copy = await second.images.resolve('busybox:latest');
    assert.equal(copy.id, original.id);
    assert.equal(copy.manifestDigest, original.manifestDigest);
    assert.equal(copy.size, original.size);
  });
});

describe('importRootfs', () => {
  it('makes a one-layer image with the changes applied', async () => {
    const { images, events } = await openStore();
    const rootfs = gzipSync(await busyboxLayer());
    const record = await images.importRootfs(Readable.from(rootfs), {
      repo: 'imported',
      tag: 'v1',
      changes: [
        'CMD ["sh", "-c", "echo hi"]',
        'ENTRYPOINT /bin/sh',
        'ENV A=1 B="two words"',
        'EXPOSE 80 53/udp',
        'LABEL team=core',
        'USER app',
        'WORKDIR /work',
        'VOLUME ["/data"]',
        'STOPSIGNAL SIGINT',
      ],
    });
    assert.deepEqual(record.repoTags, ['imported:v1']);
    assert.equal(record.config.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
    assert.equal(record.config.os, 'linux');
    assert.deepEqual(record.config.rootfs.diff_ids, [sha256(await busyboxLayer())]);
    assert.equal(record.config.history?.[0]?.created_by, 'Imported from -');
    assert.deepEqual(record.config.config, {
      Cmd: ['sh', '-c', 'echo hi'],
      Entrypoint: ['/bin/sh', '-c', '/bin/sh'],
      Env: ['A=1', 'B=two words'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { team: 'core' },
      User: 'app',
      WorkingDir: '/work',
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
    });
    assert.ok(events.some((e) => e.action === 'import' && e.id === record.id));
    const history = await images.history('imported:v1');
    assert.equal(history.length, 1);
    assert.equal(history[0]?.Id, record.id);
    assert.deepEqual(history[0]?.Tags, ['imported:v1']);
    assert.ok((history[0]?.Size ?? 0) >= BUSYBOX.length);
  });

  it('refuses an unknown instruction and leaves the store as it was', async () => {
    const { images, root } = await openStore();
    const before = await fingerprint(root);
    await assert.rejects(
      images.importRootfs(Readable.from(await busyboxLayer()), { changes: ['RUN echo no'] }),
      new InvalidArgumentError('RUN is not a valid change command'),
    );
    assert.deepEqual(await fingerprint(root), before);
  });
});

describe('tag, remove, prune', () => {
  it('follow Docker semantics', async () => {
    const { images, events, root } = await openStore();
    await images.load(Readable.from(await legacySaveTar(['busybox:latest'], [await busyboxLayer()])));
    const image = await images.resolve('busybox');
    const short = hex(image.id).slice(0, 12);
    await images.tag('busybox', 'mine', '1');
    await images.tag(image.id, 'other/repo');
    assert.deepEqual((await images.resolve('other/repo:latest')).repoTags, [
      'busybox:latest',
      'mine:1',
      'other/repo:latest',
    ]);
    assert.ok(events.some((e) => e.action === 'tag' && e.attributes.name === 'mine:1'));
    await assert.rejects(images.tag('busybox', 'Bad'), InvalidArgumentError);

    const nobody = () => undefined;
    await assert.rejects(
      images.remove(image.id, { usedBy: nobody }),
      new ConflictError(
        `conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`,
      ),
    );
    assert.deepEqual(await images.remove('mine:1', { usedBy: nobody }), [{ Untagged: 'mine:1' }]);
    assert.deepEqual(await images.remove('other/repo', { usedBy: nobody }), [
      { Untagged: 'other/repo:latest' },
    ]);

    const container = 'c0ffee'.repeat(10);
    await assert.rejects(
      images.remove(image.id, { usedBy: () => container, isRunning: () => true, force: true }),
      new ConflictError(
        `conflict: unable to delete ${short} (cannot be forced) - image is being used by running container ${container.slice(0, 12)}`,
      ),
    );
    await assert.rejects(
      images.remove(image.id, { usedBy: () => container, isRunning: () => false }),
      new ConflictError(
        `conflict: unable to delete ${short} (must be forced) - image is being used by stopped container ${container.slice(0, 12)}`,
      ),
    );
    await assert.rejects(
      images.remove('busybox', { usedBy: () => container, isRunning: () => false }),
      ConflictError,
    );
    // Forced, by name, under a container: untag only.
    assert.deepEqual(await images.remove('busybox', { usedBy: () => container, force: true }), [
      { Untagged: 'busybox:latest' },
    ]);
    assert.deepEqual((await images.resolve(image.id)).repoTags, []);

    await images.tag(image.id, 'busybox');
    const removed = await images.remove('busybox', { usedBy: nobody });
    assert.deepEqual(removed.slice(0, 2), [{ Untagged: 'busybox:latest' }, { Deleted: image.id }]);
    assert.deepEqual(removed.slice(2), [{ Deleted: image.config.rootfs.diff_ids[0] }]);
    assert.ok(events.some((e) => e.action === 'untag') && events.some((e) => e.action === 'delete'));
    await assert.rejects(images.resolve(image.id), NotFoundError);
    assert.deepEqual(await readdir(join(root, 'content/blobs/sha256')), []);
    assert.deepEqual(await readdir(join(root, 'snapshots')), ['empty']);
  });

  it('prunes dangling images nothing uses', async () => {
    const { images } = await openStore();
    await images.load(Readable.from(await legacySaveTar(['app:1'], [await smallLayer('one')])));
    const old = await images.resolve('app:1');
    await images.load(Readable.from(await legacySaveTar(['app:1'], [await smallLayer('two')])));
    await images.load(Readable.from(await legacySaveTar([], [await smallLayer('three')])));
    const kept = (await images.list({ filters: { dangling: ['true'] } })).find((i) => i.id !== old.id);
    assert.ok(kept);
    const result = await images.prune({
      danglingOnly: true,
      usedBy: (id) => (id === kept.id ? 'c1' : undefined),
    });
    assert.deepEqual(result.deleted, [{ Deleted: old.id }, { Deleted: old.config.rootfs.diff_ids[0] }]);
    assert.equal(result.spaceReclaimed, 3);
    assert.equal((await images.list()).length, 2);
    assert.equal((await images.list({ filters: { reference: ['app'] } })).length, 1);
    assert.equal((await images.list({ filters: { reference: ['ap*:2'] } })).length, 0);
  });
});

describe('rejected archives leave the store exactly as it was', () => {
  const hostDir = join(tmpdir(), `berth-escape-${process.pid}`);

  const badLayers: [string, TarEntry[], RegExp][] = [
    ['a ../ entry', [{ name: '../x', content: 'x' }], /path "\.\.\/x" escapes the root/],
    ['an absolute path', [{ name: '/etc/x', content: 'x' }], /path "\/etc\/x" is absolute/],
    [
      'an escaping symlink and a file written through it',
      [
        { name: 'evil', type: 'symlink', linkname: `../../../../../../../..${hostDir}` },
        { name: 'evil/pwned', content: 'owned' },
      ],
      /symlink "evil" -> ".*" escapes the root/,
    ],
    [
      'an escaping hardlink',
      [{ name: 'h', type: 'link', linkname: '../../../../etc/passwd' }],
      /hardlink target "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" escapes the root/,
    ],
  ];

  for (const [what, entries, message] of badLayers) {
    it(`rejects ${what}`, async () => {
      await mkdir(hostDir, { recursive: true });
      const { images, root } = await openStore();
      await images.load(Readable.from(await legacySaveTar(['keep:1'], [await smallLayer('keep')])));
      const before = await fingerprint(root);
      // The good first layer gets unpacked, then must be undone when the second fails.
      const layers = [await smallLayer('first'), await makeTar(entries)];
      await assert.rejects(
        images.load(Readable.from(await legacySaveTar(['bad:1'], layers))),
        (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError, String(e));
          assert.match(e.message, message);
          return true;
        },
      );
      assert.deepEqual(await fingerprint(root), before);
      assert.deepEqual(await readdir(hostDir), []);
      await rm(hostDir, { recursive: true, force: true });
    });
  }

  const badArchives: [string, () => Promise<Buffer>, RegExp][] = [
    [
      'a truncated tarball',
      async () => {
        const tar = await legacySaveTar(['bad:1'], [await busyboxLayer()]);
        return tar.subarray(0, Math.floor(tar.length / 2));
      },
      /unexpected EOF/,
    ],
    ['garbage', async () => Buffer.alloc(4096, 7), /invalid tar header/],
    [
      'a blob whose content does not match its digest',
      async () => {
        const tar = await ociLayoutTar([await smallLayer('a', 'original')]);
        // Same length, different bytes: only the digest check can tell.
        return Buffer.from(tar.toString('latin1').replace('original', 'tampered'), 'latin1');
      },
      /digest mismatch/,
    ],
    [
      'a missing blob',
      async () => {
        const layer = await smallLayer('a');
        const config = configFor([layer]);
        return makeTar([
          { name: `${hex(sha256(config))}.json`, content: config },
          {
            name: 'manifest.json',
            content: JSON.stringify([
              { Config: `${hex(sha256(config))}.json`, RepoTags: ['x:1'], Layers: ['gone/layer.tar'] },
            ]),
          },
        ]);
      },
      /missing "gone\/layer.tar"/,
    ],
    [
      'a layer that is not what the config says',
      async () => {
        const config = configFor([await smallLayer('a')]);
        return legacySaveTar(['x:1'], [await smallLayer('b')], config);
      },
      /diff_id mismatch/,
    ],
  ];

  for (const [what, build, message] of badArchives) {
    it(`rejects ${what}`, async () => {
      const { images, root } = await openStore();
      await images.load(Readable.from(await legacySaveTar(['keep:1'], [await smallLayer('keep')])));
      const before = await fingerprint(root);
      await assert.rejects(images.load(Readable.from(await build())), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError, String(e));
        assert.match(e.message, message);
        return true;
      });
      assert.deepEqual(await fingerprint(root), before);
    });
  }

  it('keeps an absolute symlink inside the snapshot when a file is written through it', async () => {
    await mkdir(hostDir, { recursive: true });
    const { images, rootfs, root } = await openStore();
    const layer = await makeTar([
      { name: 'abs', type: 'symlink', linkname: hostDir },
      { name: 'abs/pwned', content: 'contained' },
    ]);
    await images.load(Readable.from(await legacySaveTar(['abs:1'], [layer])));
    assert.deepEqual(await readdir(hostDir), []);
    await rootfs.create('abs', 'abs:1');
    const target = join(root, 'mnt-abs');
    await rootfs.mount('abs', target);
    try {
      assert.equal(await readFile(join(target, hostDir, 'pwned'), 'utf8'), 'contained');
    } finally {
      await rootfs.unmount(target);
    }
    await rm(hostDir, { recursive: true, force: true });
  });
});

describe('layers and root filesystems', () => {
  it('applies whiteouts and opaque directories across layers', async () => {
    const { images, rootfs, root } = await openStore();
    const lower = await makeTar([
      { name: 'a/', type: 'directory' },
      { name: 'a/1', content: '1' },
      { name: 'a/2', content: '2' },
      { name: 'b/', type: 'directory' },
      { name: 'b/old', content: 'old' },
      { name: 'c', content: 'c' },
      { name: 'd/', type: 'directory' },
      { name: 'd/old', content: 'old' },
    ]);
    const upper = await makeTar([
      { name: 'a/.wh.1', content: '' },
      { name: 'b/', type: 'directory' },
      { name: 'b/.wh..wh..opq', content: '' },
      { name: 'b/new', content: 'new' },
      { name: 'd/kept', content: 'kept' },
      // An opaque marker after this layer's own entry hides only the lower ones.
      { name: 'd/.wh..wh..opq', content: '' },
      { name: '.wh.c', content: '' },
      { name: 'l1', type: 'link', linkname: 'a/2' },
    ]);
    await images.load(Readable.from(await legacySaveTar(['wh:1'], [lower, upper])));
    await rootfs.create('wh', 'wh:1');
    const target = join(root, 'mnt-wh');
    await rootfs.mount('wh', target);
    try {
      assert.deepEqual((await readdir(target)).sort(), ['a', 'b', 'd', 'l1']);
      assert.deepEqual(await readdir(join(target, 'a')), ['2']);
      assert.deepEqual(await readdir(join(target, 'b')), ['new']);
      assert.deepEqual(await readdir(join(target, 'd')), ['kept']);
      assert.equal((await stat(join(target, 'l1'))).ino, (await stat(join(target, 'a/2'))).ino);
    } finally {
      await rootfs.unmount(target);
    }
    // The lower layer itself is untouched; the upper one records the deletions as whiteouts.
    const olds = await findFiles(join(root, 'snapshots'), 'old');
    const kinds = await Promise.all(olds.map(async (p) => ((await stat(p)).isFile() ? 'file' : 'whiteout')));
    assert.deepEqual(kinds.sort(), ['file', 'file', 'whiteout', 'whiteout']);
  });

  it('mounts an image with a writable layer that alone receives writes', async () => {
    const { images, rootfs, root } = await openStore();
    await images.load(Readable.from(await legacySaveTar(['busybox:latest'], [await busyboxLayer()])));
    const image = await images.resolve('busybox');
    const container = 'ab'.repeat(32);
    await rootfs.create(container, image.id);
    await assert.rejects(rootfs.create(container, image.id), ConflictError);
    const target = join(root, 'containers', container, 'rootfs');
    await rootfs.mount(container, target);
    await rootfs.mount(container, target); // idempotent
    try {
      assert.deepEqual(await readFile(join(target, 'bin/busybox')), BUSYBOX);
      const home = await stat(join(target, 'home/app'));
      assert.deepEqual([home.uid, home.gid, home.mode & 0o7777], [1000, 1000, 0o750]);
      assert.equal((await stat(join(target, 'tmp'))).mode & 0o7777, 0o1777);
      assert.equal((await stat(join(target, 'etc/passwd'))).mtime.toISOString(), '2024-01-01T00:00:00.000Z');
      await writeFile(join(target, 'etc/hello.txt'), 'hello');
      await rm(join(target, 'etc/passwd'));
      assert.equal(await rootfs.sizeRw(container), 5);
      const copies = await findFiles(join(root, 'snapshots'), 'hello.txt');
      assert.equal(copies.length, 1);
      assert.equal((await findFiles(join(root, 'snapshots'), 'passwd')).length, 2); // lower file + upper whiteout
      await assert.rejects(rootfs.remove(container), ConflictError);
    } finally {
      await rootfs.unmount(target);
    }
    await rootfs.unmount(target); // idempotent
    await rootfs.remove(container);
    await rootfs.remove(container);
    assert.equal((await findFiles(join(root, 'snapshots'), 'hello.txt')).length, 0);
  });

  it('mounts an image without layers over an empty lower dir', async () => {
    const { images, rootfs, root } = await openStore();
    const config = configFor([]);
    const tar = await makeTar([
      { name: `${hex(sha256(config))}.json`, content: config },
      {
        name: 'manifest.json',
        content: JSON.stringify([
          { Config: `${hex(sha256(config))}.json`, RepoTags: ['scratch:1'], Layers: [] },
        ]),
      },
    ]);
    await images.load(Readable.from(tar));
    await rootfs.create('s', 'scratch:1');
    const target = join(root, 'mnt-s');
    await rootfs.mount('s', target);
    try {
      assert.deepEqual(await readdir(target), []);
    } finally {
      await rootfs.unmount(target);
    }
  });
});

describe('open', () => {
  it('removes what a crash left and keeps what was committed', async () => {
    const { images, root } = await openStore();
    await images.load(Readable.from(await legacySaveTar(['busybox:latest'], [await busyboxLayer()])));
    const id = (await images.resolve('busybox')).id;
    const before = await fingerprint(root);
    await writeFile(join(root, 'content/ingest/half-written'), 'partial');
    await mkdir(join(root, 'snapshots/tmp-0123456789ab/fs'), { recursive: true });
    await writeFile(join(root, 'snapshots/tmp-0123456789ab/fs/x'), 'x');
    await writeFile(join(root, 'images/.tmp-abc'), '{');
    const reopened = await openImageStore({ root, events: () => {} });
    assert.deepEqual(await fingerprint(root), before);
    assert.equal((await reopened.images.resolve('busybox:latest')).id, id);
  });
});
