import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostConfig } from '../api/index.js';
import { parseCpuList, parseHardLimits, resourcesOf, rlimitsOf, validateResources } from './host-config.js';

const MB = 1024 * 1024;

test('validateResources refuses what dockerd refuses, with its messages', () => {
  const cases: [HostConfig, RegExp][] = [
    [{ Memory: 1 * MB }, /Minimum memory limit allowed is 6MB/],
    [{ Memory: -1 }, /must not be negative/],
    [{ Memory: 64 * MB, MemorySwap: 32 * MB }, /memoryswap limit should be larger than memory limit/],
    [{ MemorySwap: 64 * MB }, /always set the Memory limit/],
    [{ Memory: 32 * MB, MemoryReservation: 64 * MB }, /can not be less than memory reservation/],
    [{ NanoCpus: 5e8, CpuPeriod: 100000 }, /Nano CPUs and CPU Period cannot both be set/],
    [{ NanoCpus: 1e15 }, /Range of CPUs is from 0.01/],
    [{ CpuPeriod: 10 }, /CPU cfs period can not be less than 1ms/],
    [{ CpuQuota: 10 }, /CPU cfs quota can not be less than 1ms/],
    [{ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000/],
    [{ CpusetCpus: '0-999' }, /Requested CPUs are not available/],
    [{ CpusetCpus: 'x' }, /Invalid value x for cpuset cpus/],
    [
      { Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 5 }] },
      /soft limit must be less than or equal to hard limit/,
    ],
    [{ Ulimits: [{ Name: 'bogus', Soft: 1, Hard: 1 }] }, /invalid ulimit type: bogus/],
    [{ Ulimits: [{ Name: 'nofile', Soft: 1, Hard: 30000 }] }, /above this host's hard limit of 20000/],
  ];
  for (const [hostConfig, message] of cases) {
    assert.throws(
      () => validateResources(hostConfig, { nofile: 20000 }),
      message,
      JSON.stringify(hostConfig),
    );
  }
  assert.doesNotThrow(() =>
    validateResources({ Memory: 32 * MB, NanoCpus: 5e8, PidsLimit: 20, CpusetCpus: '0' }, { nofile: 20000 }),
  );
});

test('resourcesOf maps Docker limits to OCI resources', () => {
  assert.equal(resourcesOf({}), undefined);
  assert.deepEqual(resourcesOf({ Memory: 32 * MB, NanoCpus: 5e8, PidsLimit: 20, BlkioWeight: 300 }), {
    memory: { limit: 32 * MB, swap: 64 * MB },
    cpu: { period: 100000, quota: 50000 },
    pids: { limit: 20 },
    blockIO: { weight: 300 },
  });
  assert.deepEqual(resourcesOf({ Memory: 32 * MB, MemorySwap: -1, OomKillDisable: true }), {
    memory: { limit: 32 * MB, swap: -1, disableOOMKiller: true },
  });
});

test('rlimits, cpu lists and the host limits file', () => {
  assert.deepEqual(rlimitsOf({ Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }] }), [
    { type: 'RLIMIT_NOFILE', soft: 100, hard: 200 },
  ]);
  assert.deepEqual(parseCpuList('0-2,5', 'cpuset cpus'), [0, 1, 2, 5]);
  const limits = parseHardLimits(
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 20000                files\nMax processes             unlimited            unlimited            processes\n',
  );
  assert.deepEqual(limits, { nofile: 20000 });
});
