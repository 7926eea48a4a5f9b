// Hostile and broken tarballs on `load` (issue 3): each gives a clear error, leaves
// the image list and the store as they were, and writes nothing outside the data root.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { extract } from 'tar-stream';
import {
  assertExit,
  assertOk,
  busyboxImage,
  type Daemon,
  dockerSaveTar,
  type ErrorBody,
  makeTar,
  startDaemon,
  type TarEntry,
} from '../../harness/index.js';

let d: Daemon;
/** A directory outside the daemon's roots that hostile entries aim at. */
let probe = '';
const SECRET = 'host secret\n';

before(async () => {
  d = await startDaemon();
  probe = mkdtempSync(join(tmpdir(), 'berth-probe-'));
  writeFileSync(join(probe, 'secret'), SECRET);
  // A good load first, so directories the store makes lazily already exist.
  assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load -i busybox.tar');
});
after(async () => {
  if (probe) rmSync(probe, { recursive: true, force: true });
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

const UP = '../'.repeat(24);

/** Every file (not directory) under a root, relative to it. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

async function imageList(): Promise<string> {
  return assertOk(
    await d.docker(['images', '-a', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
    'images',
  ).stdout;
}

/** A one-layer docker-save tarball whose layer holds the given entries. */
async function imageWithLayer(tag: string, entries: TarEntry[]): Promise<Buffer> {
  return (await dockerSaveTar(tag, [await makeTar(entries)])).tar;
}

interface Case {
  name: string;
  tar: () => Promise<Buffer>;
  /**
   * Set where containment is as good as refusal (issue 3: "refused or contained"):
   * an absolute symlink is legal in a layer, and Docker itself resolves writes
   * through it inside the image root. Then the image may load, but nothing may
   * land outside.
   */
  containedTag?: string;
}

const CASES: Case[] = [
  {
    name: 'a truncated tarball',
    tar: async () => {
      const { tar } = await dockerSaveTar('truncated:1', [
        await makeTar([{ name: 'a', content: 'x'.repeat(100_000) }]),
      ]);
      return tar.subarray(0, Math.floor(tar.length * 0.6));
    },
  },
  {
    name: 'bytes that are not a tarball',
    tar: async () => Buffer.from('this is not a tar archive\n'.repeat(100)),
  },
  {
    name: 'a docker-save tarball whose manifest names a missing layer',
    tar: async () =>
      makeTar([
        {
          name: 'manifest.json',
          content: JSON.stringify([
            { Config: 'nope.json', RepoTags: ['missing:1'], Layers: ['nope/layer.tar'] },
          ]),
        },
      ]),
  },
  {
    name: 'a layer with a ../ entry',
    tar: () =>
      imageWithLayer('dotdot:1', [
        { name: 'etc/', type: 'directory' },
        { name: `${UP}${probe.slice(1)}/dotdot`, content: 'escaped\n' },
      ]),
  },
  {
    name: 'a layer with a ../ entry inside a directory name',
    tar: () =>
      imageWithLayer('dotdot2:1', [{ name: `etc/${UP}${probe.slice(1)}/dotdot2`, content: 'escaped\n' }]),
  },
  {
    name: 'a layer writing through an absolute symlink',
    containedTag: 'abslink:1',
    tar: () =>
      imageWithLayer('abslink:1', [
        { name: 'escape', type: 'symlink', linkname: probe },
        { name: 'escape/pwned', content: 'escaped\n' },
      ]),
  },
  {
    name: 'a layer writing through a relative symlink that climbs out',
    tar: () =>
      imageWithLayer('rellink:1', [
        { name: 'up', type: 'symlink', linkname: `${UP}${probe.slice(1)}` },
        { name: 'up/pwned', content: 'escaped\n' },
      ]),
  },
  {
    name: 'a layer with a hardlink to a host file',
    tar: () =>
      imageWithLayer('hardlink:1', [
        { name: 'leak', type: 'link', linkname: `${UP}${probe.slice(1)}/secret` },
      ]),
  },
  {
    name: 'a docker-save tarball with a ../ entry of its own',
    tar: async () => {
      const good = await dockerSaveTar('outer:1', [await makeTar([{ name: 'a', content: 'a\n' }])]);
      // Re-pack the good tarball with one hostile entry in front.
      const entries: TarEntry[] = [{ name: `${UP}${probe.slice(1)}/outer`, content: 'escaped\n' }];
      const x = extract();
      const done = (async () => {
        for await (const e of x) {
          const chunks: Buffer[] = [];
          for await (const c of e) chunks.push(c as Buffer);
          const type = e.header.type === 'directory' ? 'directory' : 'file';
          entries.push({ name: e.header.name, type, content: Buffer.concat(chunks) });
        }
      })();
      x.end(good.tar);
      await done;
      return makeTar(entries);
    },
  },
];

describe('docker load, berth load and POST /images/load refuse bad tarballs', () => {
  for (const c of CASES) {
    const outcome = c.containedTag ? 'refused or contained' : 'a clear error, nothing changed';
    test(`${c.name}: ${outcome}, nothing written outside`, async (t) => {
      const tar = await c.tar();
      const imagesBefore = await imageList();
      const storeBefore = filesUnder(d.dataRoot);
      const file = join(d.execRoot, 'bad.tar');
      writeFileSync(file, tar);

      const api = await d.request('POST', '/images/load?quiet=1', tar, {
        headers: { 'Content-Type': 'application/x-tar' },
      });
      if (c.containedTag && api.status === 200) {
        assert.deepEqual(filesUnder(probe), ['secret'], `nothing was written to ${probe}`);
        assertOk(await d.docker(['image', 'inspect', c.containedTag]), 'the contained image loaded');
        assertOk(await d.docker(['rmi', c.containedTag]), 'rmi the contained image');
        return;
      }
      assert.equal(api.status, 400, `POST /images/load answers 400, got ${api.status}: ${api.body}`);
      const message = (api.json as ErrorBody | undefined)?.message ?? '';
      assert.ok(message.length > 0, `the 400 carries {"message"}: ${api.body}`);
      t.diagnostic(`berthd: ${message}`);

      const docker = await d.docker(['load', '-i', file]);
      assert.notEqual(docker.code, 0, `docker load fails:\n${docker.stdout}`);
      assert.ok(
        docker.stderr.includes(message),
        `docker load shows the daemon's message "${message}":\n${docker.stderr}`,
      );
      assert.ok(!/Loaded image/.test(docker.stdout), docker.stdout);

      const berth = await d.berth(['load', '-i', file]);
      assert.notEqual(berth.code, 0, `berth load fails:\n${berth.stdout}`);
      assert.ok(
        berth.stderr.includes(message),
        `berth load shows the daemon's message "${message}":\n${berth.stderr}`,
      );

      assert.equal(await imageList(), imagesBefore, 'docker images is unchanged');
      assert.deepEqual(filesUnder(d.dataRoot), storeBefore, 'the store holds the same files');
      assert.deepEqual(filesUnder(probe), ['secret'], `nothing was written to ${probe}`);
      assert.equal(statSync(join(probe, 'secret')).nlink, 1, 'no hard link to the host file was made');
    });
  }

  test('after all that, busybox still runs', async () => {
    // An exit code, not output: this is about the store, not about attach.
    const r = await d.docker(['run', '--rm', 'busybox', 'sh', '-c', 'test -x /bin/busybox && exit 42']);
    assertExit(r, 42, 'run busybox after the bad loads');
  });
});
