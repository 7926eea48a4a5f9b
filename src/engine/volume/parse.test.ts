import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { parseBind, parseMount, parseTmpfs, parseVolumesFrom } from './parse.js';

test('parseBind reads the -v forms', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['data:/srv', { type: 'volume', name: 'data', destination: '/srv', readonly: false, mode: 'z' }],
    ['data:/srv:ro', { type: 'volume', name: 'data', destination: '/srv', readonly: true, mode: 'ro' }],
    ['data:/srv:nocopy', { type: 'volume', name: 'data', noCopy: true }],
    ['/srv/', { type: 'volume', name: undefined, destination: '/srv', mode: '' }],
    [
      '/host:/ctr',
      { type: 'bind', source: '/host', destination: '/ctr', propagation: 'rprivate', createSource: true },
    ],
    ['/host:/ctr:ro,rshared', { type: 'bind', readonly: true, propagation: 'rshared', mode: 'ro,rshared' }],
    ['/host:/ctr:rw,z', { type: 'bind', readonly: false, mode: 'rw,z' }],
  ];
  for (const [raw, want] of cases) {
    const got = parseBind(raw) as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${raw}: ${k}`);
  }
});

test('parseBind refuses what Docker refuses', () => {
  const cases: [string, RegExp][] = [
    ['data:rel', /invalid volume specification: 'data:rel'.*mount path must be absolute/],
    ['rel', /mount path must be absolute/],
    ['data:/x:bogus', /invalid mode: bogus/],
    ['data:/x:ro,rw', /invalid mode: ro,rw/],
    ['/x:ro', /invalid volume specification: '\/x:ro'/],
    ['a:/b:c:d', /invalid volume specification/],
    ['bad@name:/x', /includes invalid characters for a local volume name/],
    ['data:/', /destination can't be '\/'/],
    ['/h:/c:nocopy', /invalid mode: nocopy/],
  ];
  for (const [raw, pattern] of cases) {
    assert.throws(
      () => parseBind(raw),
      (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message),
      raw,
    );
  }
});

test('parseMount checks each type', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { Type: 'bind', Source: 'rel', Target: '/x' },
      /invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute/,
    ],
    [{ Type: 'bind', Target: '/x' }, /field Source must not be empty/],
    [{ Type: 'volume', Source: 'v1', Target: 'x' }, /invalid mount path: 'x' mount path must be absolute/],
    [
      { Type: 'volume', Source: 'v1', Target: '/x', BindOptions: {} },
      /field BindOptions must not be specified/,
    ],
    [{ Type: 'tmpfs', Source: 's', Target: '/x' }, /field Source must not be specified/],
    [{ Type: 'nfs', Target: '/x' }, /mount type unknown/],
    [
      { Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['bogus']] } },
      /invalid tmpfs option: "bogus"/,
    ],
  ];
  for (const [mount, pattern] of cases) {
    assert.throws(
      () => parseMount(mount),
      (e: unknown) => e instanceof InvalidArgumentError && pattern.test(e.message),
      JSON.stringify(mount),
    );
  }
  assert.deepEqual(
    parseMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 2097152, Mode: 0o1770 } }),
    {
      type: 'tmpfs',
      destination: '/t',
      readonly: false,
      options: ['size=2097152', 'mode=1770'],
      hidden: false,
    },
  );
});

test('parseTmpfs and parseVolumesFrom', () => {
  assert.deepEqual(parseTmpfs({ '/run': 'rw,size=64m,noexec' }), [
    { type: 'tmpfs', destination: '/run', readonly: false, options: ['size=64m', 'noexec'], hidden: true },
  ]);
  assert.throws(() => parseTmpfs({ '/run': 'sizee=1' }), /invalid tmpfs option: "sizee=1"/);
  assert.throws(() => parseTmpfs({ run: '' }), /mount path must be absolute/);
  assert.deepEqual(parseVolumesFrom('web'), { container: 'web', access: undefined });
  assert.deepEqual(parseVolumesFrom('web:ro'), { container: 'web', access: 'ro' });
  assert.throws(() => parseVolumesFrom('web:bogus'), /invalid mode: bogus/);
});
