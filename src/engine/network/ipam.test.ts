import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import {
  broadcastOf,
  formatIpv4,
  isHostAddress,
  macFromIpv4,
  nextFreeAddress,
  parseCidr,
  parseIpv4,
  subnetContains,
  subnetOf,
} from './ipam.js';

describe('parseIpv4 / formatIpv4', () => {
  const valid: Array<[string, number]> = [
    ['0.0.0.0', 0],
    ['10.0.0.1', 0x0a000001],
    ['172.18.0.1', 0xac120001],
    ['255.255.255.255', 0xffffffff],
  ];
  for (const [text, value] of valid) {
    it(`round-trips ${text}`, () => {
      assert.equal(parseIpv4(text), value);
      assert.equal(formatIpv4(value), text);
    });
  }
  for (const text of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.-4', 'a.b.c.d', '1.2.3.4 ']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseIpv4(text), InvalidArgumentError);
    });
  }
});

describe('parseCidr', () => {
  it('keeps the address and prefix', () => {
    assert.deepEqual(parseCidr('172.18.0.1/16'), { address: '172.18.0.1', prefixLength: 16 });
  });
  for (const text of ['172.18.0.1', '172.18.0.1/33', '172.18.0.1/016', '/16', '300.0.0.0/8', '1.2.3.4/']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseCidr(text), InvalidArgumentError);
    });
  }
});

describe('subnet arithmetic', () => {
  const cases: Array<{ cidr: string; subnet: string; broadcast: string }> = [
    { cidr: '172.18.0.1/16', subnet: '172.18.0.0', broadcast: '172.18.255.255' },
    { cidr: '10.213.7.1/24', subnet: '10.213.7.0', broadcast: '10.213.7.255' },
    { cidr: '10.0.0.9/29', subnet: '10.0.0.8', broadcast: '10.0.0.15' },
    { cidr: '192.168.1.77/32', subnet: '192.168.1.77', broadcast: '192.168.1.77' },
    { cidr: '8.8.8.8/0', subnet: '0.0.0.0', broadcast: '255.255.255.255' },
  ];
  for (const { cidr, subnet, broadcast } of cases) {
    it(`${cidr} -> ${subnet}, broadcast ${broadcast}`, () => {
      const parsed = parseCidr(cidr);
      assert.equal(subnetOf(parsed).address, subnet);
      assert.equal(subnetOf(parsed).prefixLength, parsed.prefixLength);
      assert.equal(broadcastOf(parsed), broadcast);
    });
  }

  const membership: Array<[string, string, boolean, boolean]> = [
    // subnet, address, contained, usable by a host
    ['10.0.0.0/24', '10.0.0.0', true, false],
    ['10.0.0.0/24', '10.0.0.1', true, true],
    ['10.0.0.0/24', '10.0.0.254', true, true],
    ['10.0.0.0/24', '10.0.0.255', true, false],
    ['10.0.0.0/24', '10.0.1.1', false, false],
    ['172.18.0.1/16', '172.18.200.3', true, true],
  ];
  for (const [subnet, address, contained, usable] of membership) {
    it(`${address} in ${subnet}: contained ${contained}, host ${usable}`, () => {
      assert.equal(subnetContains(parseCidr(subnet), address), contained);
      assert.equal(isHostAddress(parseCidr(subnet), address), usable);
    });
  }
});

describe('nextFreeAddress', () => {
  const cases: Array<{
    name: string;
    subnet: string;
    inUse: string[];
    after?: string;
    want: string | undefined;
  }> = [
    { name: 'first host address', subnet: '10.0.0.0/24', inUse: [], want: '10.0.0.1' },
    { name: 'skips the gateway', subnet: '10.0.0.0/24', inUse: ['10.0.0.1'], want: '10.0.0.2' },
    {
      name: 'skips taken addresses',
      subnet: '10.0.0.0/24',
      inUse: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
      want: '10.0.0.4',
    },
    {
      name: 'continues after the last one given',
      subnet: '10.0.0.0/24',
      inUse: ['10.0.0.1'],
      after: '10.0.0.7',
      want: '10.0.0.8',
    },
    {
      name: 'wraps past the broadcast address',
      subnet: '10.0.0.0/24',
      inUse: ['10.0.0.1'],
      after: '10.0.0.254',
      want: '10.0.0.2',
    },
    {
      name: 'ignores an `after` outside the subnet',
      subnet: '10.0.0.0/24',
      inUse: ['10.0.0.1'],
      after: '192.168.0.9',
      want: '10.0.0.2',
    },
    {
      name: 'undefined when the subnet is full',
      subnet: '10.0.0.8/30',
      inUse: ['10.0.0.9', '10.0.0.10'],
      want: undefined,
    },
    { name: 'a /31 has no host addresses', subnet: '10.0.0.8/31', inUse: [], want: undefined },
    { name: 'a /32 has no host addresses', subnet: '10.0.0.8/32', inUse: [], want: undefined },
    {
      name: 'never network or broadcast, even when the rest is taken',
      subnet: '10.0.0.0/29',
      inUse: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'],
      after: '10.0.0.3',
      want: undefined,
    },
    {
      name: 'host bits of the subnet are ignored',
      subnet: '172.18.0.1/16',
      inUse: ['172.18.0.1'],
      want: '172.18.0.2',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(nextFreeAddress(parseCidr(c.subnet), new Set(c.inUse), c.after), c.want);
    });
  }

  it('hands out every host address once before repeating none', () => {
    const subnet = parseCidr('10.9.0.0/28');
    const inUse = new Set(['10.9.0.1']);
    let last: string | undefined;
    for (let i = 0; i < 13; i++) {
      const next = nextFreeAddress(subnet, inUse, last);
      assert.ok(next !== undefined && !inUse.has(next));
      inUse.add(next);
      last = next;
    }
    assert.equal(nextFreeAddress(subnet, inUse, last), undefined);
  });
});

describe('macFromIpv4', () => {
  const cases: Array<[string, string]> = [
    ['172.17.0.2', '02:42:ac:11:00:02'],
    ['10.213.5.254', '02:42:0a:d5:05:fe'],
    ['0.0.0.0', '02:42:00:00:00:00'],
  ];
  for (const [address, mac] of cases) {
    it(`${address} -> ${mac}`, () => assert.equal(macFromIpv4(address), mac));
  }
});
