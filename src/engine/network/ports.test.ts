import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { firstFreeSubnet, parseCidr, subnetsOverlap } from './ipam.js';
import { mappingsOf, parsePortKey, portsSettings } from './ports.js';

describe('parsePortKey', () => {
  const cases: Array<[string, { port: number; protocol: string } | 'invalid']> = [
    ['80', { port: 80, protocol: 'tcp' }],
    ['80/tcp', { port: 80, protocol: 'tcp' }],
    ['53/udp', { port: 53, protocol: 'udp' }],
    ['80/xtp', 'invalid'],
    ['0/tcp', 'invalid'],
    ['65536', 'invalid'],
    ['http', 'invalid'],
  ];
  for (const [key, want] of cases) {
    it(`${key} -> ${JSON.stringify(want)}`, () => {
      if (want === 'invalid') assert.throws(() => parsePortKey(key), InvalidArgumentError);
      else assert.deepEqual(parsePortKey(key), want);
    });
  }
});

describe('ports settings round trip', () => {
  it('shows exposed ports as null and published ones with their bindings', () => {
    const mappings = [{ protocol: 'tcp' as const, containerPort: 80, hostIp: '', hostPort: 8080 }];
    const ports = portsSettings(mappings, ['80/tcp', '443/tcp']);
    assert.deepEqual(ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '443/tcp': null });
    assert.deepEqual(mappingsOf(ports), mappings);
  });
});

describe('subnet pools', () => {
  const cases: Array<[string, number, string[], string | undefined]> = [
    ['10.1.0.0/24', 28, [], '10.1.0.0/28'],
    ['10.1.0.0/24', 28, ['10.1.0.0/28'], '10.1.0.16/28'],
    ['10.1.0.0/24', 28, ['10.1.0.0/25'], '10.1.0.128/28'],
    ['10.1.0.0/24', 24, ['10.1.0.7/32'], undefined],
  ];
  for (const [base, size, taken, want] of cases) {
    it(`${base} size ${size} with ${taken.join(',') || 'nothing'} taken -> ${want}`, () => {
      const found = firstFreeSubnet(parseCidr(base), size, taken.map(parseCidr));
      assert.equal(found === undefined ? undefined : `${found.address}/${found.prefixLength}`, want);
    });
  }
  it('overlap is symmetric', () => {
    assert.ok(subnetsOverlap(parseCidr('10.0.0.0/8'), parseCidr('10.2.3.0/24')));
    assert.ok(subnetsOverlap(parseCidr('10.2.3.0/24'), parseCidr('10.0.0.0/8')));
    assert.ok(!subnetsOverlap(parseCidr('10.2.3.0/24'), parseCidr('10.2.4.0/24')));
  });
});
