import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyMountFlags, parseMountFlag } from './mount-flags.js';

test('parseMountFlag turns --mount into an API Mount', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['type=bind,source=/a,target=/b,readonly', { Type: 'bind', Source: '/a', Target: '/b', ReadOnly: true }],
    [
      'type=bind,src=/a,dst=/b,bind-propagation=rshared',
      { Type: 'bind', Source: '/a', Target: '/b', BindOptions: { Propagation: 'rshared' } },
    ],
    [
      'source=v,target=/d,volume-nocopy',
      { Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { NoCopy: true } },
    ],
    [
      'type=tmpfs,target=/t,tmpfs-size=2m,tmpfs-mode=1770',
      { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 2097152, Mode: 0o1770 } },
    ],
  ];
  for (const [flag, want] of cases) assert.deepEqual(parseMountFlag(flag), want, flag);
  assert.throws(() => parseMountFlag('type=bind,foo=bar'), /unexpected key 'foo' in 'foo=bar'/);
});

test('applyMountFlags splits -v into binds and anonymous volumes', () => {
  assert.deepEqual(
    applyMountFlags({
      volume: ['/anon', 'named:/x:ro'],
      tmpfs: ['/run:size=1m', '/tmp'],
      volumesFrom: ['web:ro'],
    }),
    {
      host: { Binds: ['named:/x:ro'], Tmpfs: { '/run': 'size=1m', '/tmp': '' }, VolumesFrom: ['web:ro'] },
      volumes: { '/anon': {} },
    },
  );
});
