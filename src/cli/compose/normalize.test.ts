import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { PortConfig, ServiceVolume } from './model.js';
import { normalizeVolume, parsePortSpec } from './normalize.js';

describe('parsePortSpec (short syntax)', () => {
  const tcp = (target: number, extra: Partial<PortConfig> = {}): PortConfig => ({
    mode: 'ingress',
    target,
    protocol: 'tcp',
    ...extra,
  });
  const cases: [string, PortConfig[]][] = [
    ['80', [tcp(80)]],
    ['8080:80', [tcp(80, { published: '8080' })]],
    ['127.0.0.1:8080:80', [tcp(80, { published: '8080', host_ip: '127.0.0.1' })]],
    ['127.0.0.1::80', [tcp(80, { host_ip: '127.0.0.1' })]],
    ['[::1]:8080:80', [tcp(80, { published: '8080', host_ip: '::1' })]],
    ['53:53/udp', [{ mode: 'ingress', target: 53, protocol: 'udp', published: '53' }]],
    ['9000-9001:80-81', [tcp(80, { published: '9000' }), tcp(81, { published: '9001' })]],
    ['9000-9010:80', [tcp(80, { published: '9000-9010' })]],
    ['3000-3001', [tcp(3000), tcp(3001)]],
  ];
  for (const [spec, want] of cases)
    test(spec, () => {
      assert.deepEqual(parsePortSpec(spec), want);
    });

  for (const bad of ['80:', 'a:80', '1:2:3:4', '0', '70000', '81-80'])
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parsePortSpec(bad), {
        message: `invalid port specification: ${JSON.stringify(bad)}`,
      });
    });
});

describe('normalizeVolume (short syntax)', () => {
  const dir = '/project';
  const cases: [string, ServiceVolume][] = [
    ['/data', { type: 'volume', target: '/data' }],
    ['site:/www', { type: 'volume', source: 'site', target: '/www' }],
    ['site:/www:ro', { type: 'volume', source: 'site', target: '/www', read_only: true }],
    ['site:/www:nocopy', { type: 'volume', source: 'site', target: '/www', volume: { nocopy: true } }],
    [
      './html:/www',
      { type: 'bind', source: '/project/html', target: '/www', bind: { create_host_path: true } },
    ],
    [
      '../up:/up:ro,z',
      { type: 'bind', source: '/up', target: '/up', bind: { create_host_path: true }, read_only: true },
    ],
    ['/abs:/abs', { type: 'bind', source: '/abs', target: '/abs', bind: { create_host_path: true } }],
  ];
  for (const [spec, want] of cases)
    test(spec, () => {
      assert.deepEqual(normalizeVolume(spec, dir), want);
    });

  test('long syntax: a relative bind source is resolved', () => {
    assert.deepEqual(normalizeVolume({ type: 'bind', source: './conf', target: '/etc/x' }, dir), {
      type: 'bind',
      source: '/project/conf',
      target: '/etc/x',
    });
  });

  for (const bad of ['a:', 'a:b:c:d'])
    test(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => normalizeVolume(bad, dir), {
        message: `invalid volume specification: ${JSON.stringify(bad)}`,
      });
    });
});
