import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from './errors.js';
import { goTimeString, ipamConfigOf } from './network.js';
import { applyNetworkFlags, parseExposeSpec, parsePublishSpec, validateExtraHost } from './network-flags.js';

describe('parsePublishSpec', () => {
  const cases: [string, Array<[string, string, string]>][] = [
    ['80', [['80/tcp', '', '']]],
    ['8080:80', [['80/tcp', '', '8080']]],
    ['127.0.0.1:8080:80/udp', [['80/udp', '127.0.0.1', '8080']]],
    ['127.0.0.1::80', [['80/tcp', '127.0.0.1', '']]],
    ['[::1]:8080:80', [['80/tcp', '::1', '8080']]],
    [
      '8000-8001:80-81',
      [
        ['80/tcp', '', '8000'],
        ['81/tcp', '', '8001'],
      ],
    ],
    ['8000-8010:80', [['80/tcp', '', '8000-8010']]],
    ['published=8080,target=80,protocol=udp', [['80/udp', '', '8080']]],
  ];
  for (const [spec, expected] of cases) {
    it(spec, () => {
      const got = parsePublishSpec(spec).map((m) => [m.key, m.binding.HostIp, m.binding.HostPort]);
      assert.deepEqual(got, expected);
    });
  }

  const bad: [string, RegExp][] = [
    ['80/xtp', /invalid proto: xtp/],
    ['8080:eighty', /invalid containerPort: eighty/],
    ['x:80', /invalid hostPort: x/],
    ['1.2.3:8080:80', /invalid IP address: 1.2.3/],
    ['8080:', /no port specified/],
    ['8000-8002:80-81', /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/],
    ['70000', /invalid containerPort: 70000/],
  ];
  for (const [spec, message] of bad) {
    it(`refuses ${spec}`, () => {
      assert.throws(
        () => parsePublishSpec(spec),
        (e: unknown) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
});

describe('parseExposeSpec and validateExtraHost', () => {
  it('expands ranges and protocols', () => {
    assert.deepEqual(parseExposeSpec('80'), ['80/tcp']);
    assert.deepEqual(parseExposeSpec('53-54/udp'), ['53/udp', '54/udp']);
    assert.throws(
      () => parseExposeSpec('x'),
      /--expose: x, error: strconv.ParseUint: parsing "x": invalid syntax/,
    );
    assert.throws(() => parseExposeSpec('1-70000'), /parsing "70000": value out of range/);
  });
  it('accepts name:ip, name=ip and host-gateway, refuses the rest', () => {
    for (const ok of ['a:10.0.0.1', 'a=10.0.0.1', 'gw:host-gateway', 'six=[::1]', 'six:::1'])
      assert.equal(validateExtraHost(ok), ok);
    assert.throws(() => validateExtraHost('nohost'), /bad format for add-host: "nohost"/);
    assert.throws(() => validateExtraHost('a:1.2.3'), /invalid IP address in add-host: "1.2.3"/);
  });
});

describe('applyNetworkFlags', () => {
  it('maps every flag to the API fields docker sends', () => {
    const got = applyNetworkFlags({
      network: 'front',
      publish: ['8080:80', '53/udp'],
      publishAll: true,
      expose: ['9000'],
      ip: '10.1.0.5',
      networkAlias: ['www'],
      link: ['db:data'],
      dns: ['10.0.0.2'],
      dnsSearch: ['example.test'],
      dnsOption: ['ndots:2'],
      addHost: ['gw:host-gateway'],
      macAddress: '02:42:ac:11:00:99',
    });
    assert.deepEqual(got.host, {
      NetworkMode: 'front',
      PortBindings: {
        '80/tcp': [{ HostIp: '', HostPort: '8080' }],
        '53/udp': [{ HostIp: '', HostPort: '' }],
      },
      PublishAllPorts: true,
      Links: ['db:data'],
      Dns: ['10.0.0.2'],
      DnsSearch: ['example.test'],
      DnsOptions: ['ndots:2'],
      ExtraHosts: ['gw:host-gateway'],
    });
    assert.deepEqual(got.exposedPorts, { '80/tcp': {}, '53/udp': {}, '9000/tcp': {} });
    assert.deepEqual(got.endpoints, {
      front: {
        IPAMConfig: { IPv4Address: '10.1.0.5' },
        Aliases: ['www'],
        MacAddress: '02:42:ac:11:00:99',
        Links: ['db:data'],
      },
    });
  });
  it('names the default network when only endpoint options are given, nothing otherwise', () => {
    assert.deepEqual(applyNetworkFlags({ ip: '172.17.0.9' }).endpoints, {
      default: { IPAMConfig: { IPv4Address: '172.17.0.9' } },
    });
    assert.deepEqual(applyNetworkFlags({}).endpoints, {});
  });
  const bad: [Parameters<typeof applyNetworkFlags>[0], RegExp][] = [
    [{ dns: ['resolver'] }, /resolver is not an ip address/],
    [{ dnsSearch: ['bad_domain!'] }, /bad_domain! is not a valid domain/],
    [{ ip: '10.1' }, /invalid argument "10.1" for "--ip" flag/],
    [{ macAddress: '02:42' }, /02:42 is not a valid mac address/],
    [{ link: ['a:b:c'] }, /bad format for links: a:b:c/],
    [{ networkAlias: ['a'] }, /network-scoped aliases are only supported for user-defined networks/],
    [{ network: 'bridge', networkAlias: ['a'] }, /only supported for user-defined networks/],
  ];
  for (const [flags, message] of bad) {
    it(`refuses ${JSON.stringify(flags)}`, () => assert.throws(() => applyNetworkFlags(flags), message));
  }
});

describe('ipamConfigOf', () => {
  const none = { ipRanges: [], gateways: [], auxAddresses: {} };
  it('pairs ranges and gateways with their subnets', () => {
    assert.deepEqual(
      ipamConfigOf({
        subnets: ['10.5.0.0/16', '10.6.0.0/24'],
        ipRanges: ['10.5.1.0/24'],
        gateways: ['10.6.0.254', '10.5.0.1'],
        auxAddresses: { router: '10.5.0.2' },
      }),
      [
        {
          Subnet: '10.5.0.0/16',
          IPRange: '10.5.1.0/24',
          Gateway: '10.5.0.1',
          AuxiliaryAddresses: { router: '10.5.0.2' },
        },
        { Subnet: '10.6.0.0/24', Gateway: '10.6.0.254', AuxiliaryAddresses: {} },
      ],
    );
  });
  const bad: [Parameters<typeof ipamConfigOf>[0], RegExp][] = [
    [
      { ...none, subnets: [], gateways: ['10.0.0.1'] },
      /every ip-range or gateway must have a corresponding subnet/,
    ],
    [{ ...none, subnets: ['10.0.0.0/16', '10.0.1.0/24'] }, /multiple overlapping subnet configuration/],
    [
      { ...none, subnets: ['10.0.0.0/24'], gateways: ['192.0.2.77'] },
      /no matching subnet for gateway 192.0.2.77/,
    ],
    [
      { ...none, subnets: ['10.0.0.0/24'], ipRanges: ['10.9.0.0/28'] },
      /no matching subnet for range 10.9.0.0\/28/,
    ],
    [{ ...none, subnets: ['10.0.0/24'] }, /invalid subnet: invalid CIDR address: 10.0.0\/24/],
  ];
  for (const [opts, message] of bad) {
    it(`refuses ${message.source}`, () => assert.throws(() => ipamConfigOf(opts), message));
  }
});

describe('goTimeString', () => {
  const cases: [string, string][] = [
    ['2026-11-23T19:02:42.046Z', '2026-11-23 19:02:42.046 +0000 UTC'],
    ['2026-11-23T19:02:42.000000000Z', '2026-11-23 19:02:42 +0000 UTC'],
    ['2026-11-23T19:02:42.5+01:00', '2026-11-23 19:02:42.5 +0100 +0100'],
  ];
  for (const [input, expected] of cases) it(input, () => assert.equal(goTimeString(input), expected));
});
