import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { binarySize, splitCopyArg, statsRow } from './container-ops.js';

describe('docker stats columns', () => {
  for (const [bytes, text] of [
    [0, '0B'],
    [1536, '1.5KiB'],
    [10 * 1024 * 1024, '10MiB'],
  ] as const) {
    test(`binarySize(${bytes}) is ${text}`, () => assert.equal(binarySize(bytes), text));
  }

  test('a reading and the one before give docker row values', () => {
    const row = statsRow(
      {
        read: '2024-01-01T00:00:01Z',
        preread: '2024-01-01T00:00:00Z',
        id: 'a'.repeat(64),
        name: '/web',
        cpu_stats: { cpu_usage: { total_usage: 2_000_000 }, system_cpu_usage: 20_000_000, online_cpus: 2 },
        precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000, online_cpus: 2 },
        memory_stats: {
          usage: 3 * 1024 * 1024,
          limit: 100 * 1024 * 1024,
          stats: { total_inactive_file: 1024 * 1024 },
        },
        networks: { eth0: { rx_bytes: 1500, tx_bytes: 0 } },
        blkio_stats: { io_service_bytes_recursive: [{ major: 8, minor: 0, op: 'Read', value: 4096 }] },
        pids_stats: { current: 3 },
      },
      'web',
      false,
    );
    assert.deepEqual(row, {
      ID: 'aaaaaaaaaaaa',
      Container: 'web',
      Name: 'web',
      CPUPerc: '20.00%',
      MemUsage: '2MiB / 100MiB',
      MemPerc: '2.00%',
      NetIO: '1.5kB / 0B',
      BlockIO: '4.1kB / 0B',
      PIDs: '3',
    });
  });
});

describe('cp arguments', () => {
  for (const [arg, expected] of [
    ['web:/etc/hosts', { container: 'web', path: '/etc/hosts' }],
    ['/tmp/a:b', undefined],
    ['./local', undefined],
    ['file.txt', undefined],
    ['-', undefined],
  ] as const) {
    test(`${arg}`, () => assert.deepEqual(splitCopyArg(arg), expected));
  }
});
