import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import {
  firstFreeSubnet6,
  firstHostAddress6,
  formatIpv6,
  isHostAddress6,
  nextFreeAddress6,
  parseCidr6,
  parseIpv6,
  parseSubnet6,
  subnetsOverlap6,
  ulaPrefixOf,
} from './ipam6.js';

describe('IPv6 text', () => {
  const cases: Array<[string, string]> = [
    ['fd00:beef:0:0:0:0:0:1', 'fd00:beef::1'],
    ['FD00:BEEF::0001', 'fd00:beef::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['fd00::', 'fd00::'],
  ];
  for (const [input, canonical] of cases) {
    test(`${input} -> ${canonical}`, () => assert.equal(formatIpv6(parseIpv6(input)), canonical));
  }
  for (const bad of ['fd00::g', '1.2.3.4', 'fe80::1%eth0', '::ffff:1.2.3.4', '']) {
    test(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseIpv6(bad), InvalidArgumentError));
  }
});

describe('IPv6 subnets', () => {
  test('parseSubnet6 wants the first address and room for hosts', () => {
    assert.deepEqual(parseSubnet6('fd00:beef:1::/64'), { address: 'fd00:beef:1::', prefixLength: 64 });
    assert.throws(() => parseSubnet6('fd00:beef:1::5/64'), /it should be fd00:beef:1::\/64/);
    assert.throws(() => parseSubnet6('fd00::/127'), /too small/);
  });
  const overlaps: Array<[string, string, boolean]> = [
    ['fd00:beef:1::/64', 'fd00:beef:1::/80', true],
    ['fd00:beef:1::/64', 'fd00:beef:2::/64', false],
    ['fd00::/8', 'fd12:3456::/48', true],
  ];
  for (const [a, b, want] of overlaps) {
    test(`${a} and ${b} overlap: ${want}`, () =>
      assert.equal(subnetsOverlap6(parseCidr6(a), parseCidr6(b)), want));
  }
  test('addresses: gateway is ::1, the subnet address is never handed out, none twice', () => {
    const subnet = parseSubnet6('fd00:beef:1::/64');
    assert.equal(firstHostAddress6(subnet), 'fd00:beef:1::1');
    assert.equal(isHostAddress6(subnet, 'fd00:beef:1::'), false);
    assert.equal(isHostAddress6(subnet, 'fd00:beef:2::1'), false);
    assert.equal(nextFreeAddress6(subnet, new Set(['fd00:beef:1::1', 'fd00:beef:1::2'])), 'fd00:beef:1::3');
    const tiny = parseSubnet6('fd00::/126');
    assert.equal(nextFreeAddress6(tiny, new Set(['fd00::1', 'fd00::2', 'fd00::3'])), undefined);
  });
  test('the ULA pool: an fd /48 from the seed, /64s that skip what is taken', () => {
    const prefix = ulaPrefixOf(Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a]));
    assert.deepEqual(prefix, { address: 'fd12:3456:789a::', prefixLength: 48 });
    const taken = [parseCidr6('fd12:3456:789a::/64')];
    assert.deepEqual(firstFreeSubnet6(prefix, 64, taken), {
      address: 'fd12:3456:789a:1::',
      prefixLength: 64,
    });
  });
});
