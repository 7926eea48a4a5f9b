import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { resolveUser } from './user.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  '# a comment',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'web:x:1000:1001:web server:/home/web:/bin/sh',
  'broken line',
  'nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin',
].join('\n');
const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'wheel:x:10:root,web',
  'webgrp:x:1001:',
  'audio:x:29:web',
  'nogroup:x:65534:',
].join('\n');

let root: string;
let bare: string;
let escaping: string;
let outside: string;

before(async () => {
  const base = await mkdtemp(join(tmpdir(), 'berth-user-'));
  root = join(base, 'root');
  bare = join(base, 'bare');
  escaping = join(base, 'escaping');
  outside = join(base, 'outside');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/passwd'), PASSWD);
  await writeFile(join(root, 'etc/group'), GROUP);
  await mkdir(bare, { recursive: true });
  // A rootfs whose /etc/passwd points outside it must read its own (missing) file, not the host's.
  await mkdir(join(outside, 'etc'), { recursive: true });
  await writeFile(join(outside, 'etc/passwd'), 'evil:x:0:0::/:/bin/sh\n');
  await mkdir(join(escaping, 'etc'), { recursive: true });
  await symlink(`../../../${'../'.repeat(10)}${outside.slice(1)}/etc/passwd`, join(escaping, 'etc/passwd'));
  await symlink(`${outside}/etc/passwd`, join(escaping, 'etc/group'));
});

after(async () => {
  if (root) await rm(join(root, '..'), { recursive: true, force: true });
});

test('resolveUser follows runc rules', async () => {
  const cases: [string, { uid: number; gid: number; additionalGids: number[] }][] = [
    ['', { uid: 0, gid: 0, additionalGids: [10] }],
    ['root', { uid: 0, gid: 0, additionalGids: [10] }],
    ['0', { uid: 0, gid: 0, additionalGids: [10] }],
    ['web', { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ['1000', { uid: 1000, gid: 1001, additionalGids: [10, 29] }],
    ['web:audio', { uid: 1000, gid: 29, additionalGids: [] }],
    ['web:10', { uid: 1000, gid: 10, additionalGids: [] }],
    ['web:4242', { uid: 1000, gid: 4242, additionalGids: [] }],
    ['4242', { uid: 4242, gid: 0, additionalGids: [] }],
    ['4242:4343', { uid: 4242, gid: 4343, additionalGids: [] }],
    ['4242:nogroup', { uid: 4242, gid: 65534, additionalGids: [] }],
    [':daemon', { uid: 0, gid: 1, additionalGids: [] }],
    ['nobody', { uid: 65534, gid: 65534, additionalGids: [] }],
  ];
  for (const [user, expected] of cases) assert.deepEqual(await resolveUser(root, user), expected, user);
});

test('resolveUser without /etc files: numbers pass, names fail', async () => {
  assert.deepEqual(await resolveUser(bare, ''), { uid: 0, gid: 0, additionalGids: [] });
  assert.deepEqual(await resolveUser(bare, '1:2'), { uid: 1, gid: 2, additionalGids: [] });
  await assert.rejects(
    resolveUser(bare, 'root'),
    /unable to find user root: no matching entries in passwd file/,
  );
});

test('resolveUser rejects unknown names and out-of-range ids', async () => {
  const cases: [string, RegExp][] = [
    ['ghost', /^unable to find user ghost: no matching entries in passwd file$/],
    ['web:ghosts', /^unable to find group ghosts: no matching entries in group file$/],
    ['4294967296', /must be in range/],
  ];
  for (const [user, message] of cases) {
    await assert.rejects(
      resolveUser(root, user),
      (e: Error) => e instanceof InvalidArgumentError && message.test(e.message),
    );
  }
});

test('resolveUser never reads files outside the rootfs', async () => {
  await assert.rejects(resolveUser(escaping, 'evil'), /unable to find user evil/);
  assert.deepEqual(await resolveUser(escaping, ':0'), { uid: 0, gid: 0, additionalGids: [] });
});
