// Images as a user meets them (issue 3): load, images, tag, rmi, save | load,
// import --change and history, with bin/berth and the real docker CLI.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertExit,
  assertOk,
  BUSYBOX_PATH_ENV,
  busyboxImage,
  type CliName,
  type Daemon,
  dockerSaveTar,
  type ErrorBody,
  type ImageInspect,
  parseInspect,
  rootfsTar,
  rootfsTarBytes,
  startDaemon,
} from '../../harness/index.js';

let d: Daemon;
let busyboxId = '';

before(async () => {
  d = await startDaemon();
  busyboxId = (await busyboxImage()).imageId;
});
after(async () => {
  await d?.stop();
});
afterEach((t) => d?.dumpLogOnFailure(t));

/** `repo:tag id` for every image, as `images --format` prints them. */
async function imageList(cli: CliName = 'docker'): Promise<string[]> {
  const r = assertOk(
    await d.cli(cli, ['images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}']),
    `${cli} images --format`,
  );
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** A distinct image (its own config, so its own id) sharing the busybox layer. */
async function extraImage(tag: string, label: string): Promise<{ tar: Buffer; imageId: string }> {
  return dockerSaveTar(tag, [await rootfsTarBytes()], { labels: { 'test.image': label } });
}

async function imageInspect(cli: CliName, ref: string): Promise<ImageInspect> {
  const r = assertOk(await d.cli(cli, ['image', 'inspect', ref]), `${cli} image inspect ${ref}`);
  return parseInspect<ImageInspect>(r.stdout);
}

describe('load', () => {
  test('docker load -i busybox.tar prints "Loaded image: busybox:latest"', async () => {
    const r = assertOk(await d.docker(['load', '-i', (await busyboxImage()).path]), 'docker load -i');
    assert.match(r.stdout, /^Loaded image: busybox:latest$/m);
    assert.ok((await imageList()).includes(`busybox:latest ${busyboxId}`), (await imageList()).join('\n'));
  });

  test('berth load -i loads the same image with the same id', async () => {
    const tag = 'busybox:berth-loaded';
    const r = assertOk(await d.berth(['load', '-i', (await busyboxImage(tag)).path]), 'berth load -i');
    assert.match(r.stdout, new RegExp(`^Loaded image: ${tag}$`, 'm'));
    assert.ok(
      (await imageList('berth')).includes(`${tag} ${busyboxId}`),
      (await imageList('berth')).join('\n'),
    );
  });

  test('docker load reads the tarball from stdin', async () => {
    const { tar, imageId } = await extraImage('from-stdin:1', 'stdin');
    const r = assertOk(await d.docker(['load'], { input: tar }), 'docker load < tar');
    assert.match(r.stdout, /^Loaded image: from-stdin:1$/m);
    assert.ok((await imageList()).includes(`from-stdin:1 ${imageId}`));
  });
});

for (const cli of ['berth', 'docker'] as const) {
  describe(`${cli}: images, inspect, tag, history`, () => {
    test(`${cli} images shows the table header and the busybox row`, async () => {
      const r = assertOk(await d.cli(cli, ['images']), 'images');
      const lines = r.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
      const row = lines.find((l) => /^busybox\s+latest\s/.test(l));
      assert.ok(row, `images lists busybox latest:\n${r.stdout}`);
      assert.match(
        row,
        new RegExp(`^busybox\\s+latest\\s+${busyboxId.slice(7, 19)}\\s+.+\\s+\\d+(\\.\\d+)?[kM]B$`),
      );
    });

    test(`${cli} image inspect shows the id, tags and config`, async () => {
      const image = await imageInspect(cli, 'busybox');
      assert.equal(image.Id, busyboxId);
      assert.ok(image.RepoTags.includes('busybox:latest'), JSON.stringify(image.RepoTags));
      assert.deepEqual(image.Config.Cmd, ['sh']);
      assert.deepEqual(image.Config.Env, [BUSYBOX_PATH_ENV]);
    });

    test(`${cli} tag adds a name for the same image`, async () => {
      const tag = `${cli}/busybox:v1`;
      const r = assertOk(await d.cli(cli, ['tag', 'busybox:latest', tag]), 'tag');
      assert.equal(r.stdout, '');
      assert.ok((await imageList(cli)).includes(`${tag} ${busyboxId}`), (await imageList(cli)).join('\n'));
      const out = assertOk(await d.cli(cli, ['run', '--rm', tag, 'echo', 'tagged']), 'run the new tag');
      assert.equal(out.stdout, 'tagged\n');
    });

    test(`${cli} image history shows the layer's history entry`, async () => {
      const r = assertOk(await d.cli(cli, ['image', 'history', 'busybox']), 'image history');
      const lines = r.stdout.trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
      assert.equal(lines.length, 2, r.stdout);
      assert.match(
        lines[1] ?? '',
        new RegExp(`^${busyboxId.slice(7, 19)}\\s+.+berth test harness: busybox-static rootfs`),
      );
      const full = assertOk(
        await d.cli(cli, ['image', 'history', '--no-trunc', '--format', '{{.CreatedBy}}', 'busybox']),
        'image history --format',
      );
      assert.equal(full.stdout, 'berth test harness: busybox-static rootfs\n');
    });
  });

  describe(`${cli}: rmi`, () => {
    test(`${cli} rmi of one of two tags only untags`, async () => {
      const extra = `${cli}-untag:1`;
      assertOk(await d.cli(cli, ['tag', 'busybox', extra]), 'tag');
      const r = assertOk(await d.cli(cli, ['rmi', extra]), 'rmi');
      assert.equal(r.stdout, `Untagged: ${extra}\n`);
      const list = await imageList(cli);
      assert.ok(!list.some((l) => l.startsWith(`${extra} `)), list.join('\n'));
      assert.ok(list.includes(`busybox:latest ${busyboxId}`), list.join('\n'));
    });

    test(`${cli} rmi of the last tag untags and deletes`, async () => {
      const tag = `${cli}-victim:1`;
      const { tar, imageId } = await extraImage(tag, `victim-${cli}`);
      assertOk(await d.docker(['load'], { input: tar }), 'load victim');
      const r = assertOk(await d.cli(cli, ['rmi', tag]), 'rmi');
      assert.match(r.stdout, new RegExp(`^Untagged: ${tag}\nDeleted: ${imageId}\n`));
      const list = await imageList(cli);
      assert.ok(!list.some((l) => l.endsWith(imageId)), list.join('\n'));
      // The shared layer is still there for busybox.
      assertOk(await d.cli(cli, ['run', '--rm', 'busybox', 'true']), 'run busybox after deleting a sibling');
    });

    test(`${cli} rmi of an image a container uses is a 409 conflict, and -f forces it`, async () => {
      const tag = `${cli}-inuse:1`;
      const { tar, imageId } = await extraImage(tag, `inuse-${cli}`);
      assertOk(await d.docker(['load'], { input: tar }), 'load');
      const name = `${cli}-uses-image`;
      assertOk(await d.cli(cli, ['create', '--name', name, tag, 'true']), 'create');
      const r = await d.cli(cli, ['rmi', tag]);
      assertExit(r, 1, 'rmi of an image in use');
      assert.match(
        r.stderr,
        /Error response from daemon: conflict: unable to (remove|delete) .*container [0-9a-f]{12}/,
      );
      const api = await d.request('DELETE', `/images/${encodeURIComponent(tag)}`);
      assert.equal(api.status, 409, api.body);
      assert.match((api.json as ErrorBody).message, /conflict/);
      assert.ok((await imageList(cli)).includes(`${tag} ${imageId}`), 'the image is still listed');
      const forced = assertOk(await d.cli(cli, ['rmi', '-f', tag]), 'rmi -f');
      assert.match(forced.stdout, new RegExp(`^Untagged: ${tag}$`, 'm'));
      assertOk(await d.cli(cli, ['rm', name]), 'rm');
    });

    test(`${cli} rmi of a missing image: No such image`, async () => {
      const r = await d.cli(cli, ['rmi', 'nosuch']);
      assertExit(r, 1, 'rmi nosuch');
      assert.match(r.stderr, /Error response from daemon: No such image: nosuch:latest/);
    });
  });

  describe(`${cli}: save and load`, () => {
    test(`${cli} save | ${cli} load round trip keeps the image id`, async () => {
      const tag = `${cli}-trip:1`;
      const { tar, imageId } = await extraImage(tag, `trip-${cli}`);
      assertOk(await d.docker(['load'], { input: tar }), 'load');
      let saved: Buffer;
      if (cli === 'docker') {
        saved = assertOk(await d.docker(['save', tag]), 'docker save').stdoutBytes;
      } else {
        const file = join(d.execRoot, 'saved.tar');
        assertOk(await d.berth(['save', '-o', file, tag]), 'berth save -o');
        saved = readFileSync(file);
      }
      assert.ok(saved.length > 1024 * 1024, `the saved tarball holds busybox (${saved.length} bytes)`);
      assertOk(await d.cli(cli, ['rmi', tag]), 'rmi');
      assert.ok(!(await imageList(cli)).some((l) => l.endsWith(imageId)));
      const loaded = assertOk(await d.cli(cli, ['load'], { input: saved }), 'load the saved tarball');
      assert.match(loaded.stdout, new RegExp(`^Loaded image: ${tag}$`, 'm'));
      assert.equal((await imageInspect(cli, tag)).Id, imageId);
      const out = assertOk(await d.cli(cli, ['run', '--rm', tag, 'echo', 'round-trip']), 'run loaded');
      assert.equal(out.stdout, 'round-trip\n');
    });
  });

  describe(`${cli}: import`, () => {
    test(`${cli} import --change 'CMD ["echo","imported"]' makes a runnable image`, async () => {
      const tag = `${cli}-imported:1`;
      const args = ['import', '--change', 'CMD ["echo","imported"]'];
      const r =
        cli === 'docker'
          ? await d.docker([...args, '-', tag], { input: await rootfsTarBytes() })
          : await d.berth([...args, await rootfsTar(), tag]);
      assertOk(r, 'import');
      assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
      const id = r.stdout.trim();
      assert.ok((await imageList(cli)).includes(`${tag} ${id}`), (await imageList(cli)).join('\n'));
      assert.deepEqual((await imageInspect(cli, tag)).Config.Cmd, ['echo', 'imported']);
      const run = assertOk(await d.cli(cli, ['run', '--rm', tag]), 'run imported');
      assert.equal(run.stdout, 'imported\n');
    });
  });
}
