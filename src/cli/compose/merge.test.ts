import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mergeFiles, mergeRecords } from './merge.js';

describe('mergeRecords (one service over another)', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
    ['scalars are overridden', { image: 'a', user: 'x' }, { image: 'b' }, { image: 'b', user: 'x' }],
    ['command is replaced', { command: ['a', 'b'] }, { command: ['c'] }, { command: ['c'] }],
    [
      'environment merges, list or mapping',
      { environment: ['A=1', 'B=2'] },
      { environment: { B: '3', C: '4' } },
      { environment: { A: '1', B: '3', C: '4' } },
    ],
    ['labels merge', { labels: { a: '1' } }, { labels: ['b=2'] }, { labels: { a: '1', b: '2' } }],
    [
      'volumes merge by target',
      { volumes: ['data:/data', './a:/a'] },
      { volumes: ['other:/data', { type: 'tmpfs', target: '/t' }] },
      { volumes: ['other:/data', './a:/a', { type: 'tmpfs', target: '/t' }] },
    ],
    [
      'ports append without duplicates',
      { ports: ['80:80'] },
      { ports: ['80:80', '443:443'] },
      { ports: ['80:80', '443:443'] },
    ],
    [
      'depends_on lists merge as mappings',
      { depends_on: ['db'] },
      { depends_on: { cache: { condition: 'service_healthy' } } },
      { depends_on: { db: null, cache: { condition: 'service_healthy' } } },
    ],
    [
      'build string and mapping merge',
      { build: './app' },
      { build: { dockerfile: 'Dev.Dockerfile' } },
      { build: { context: './app', dockerfile: 'Dev.Dockerfile' } },
    ],
    [
      'nested mappings merge',
      { deploy: { replicas: 2, resources: { limits: { memory: '1g' } } } },
      { deploy: { resources: { limits: { cpus: '0.5' } } } },
      { deploy: { replicas: 2, resources: { limits: { memory: '1g', cpus: '0.5' } } } },
    ],
    ['null overrides', { user: 'x' }, { user: null }, { user: null }],
  ];
  for (const [name, base, over, want] of cases)
    test(name, () => {
      assert.deepEqual(mergeRecords(base, over), want);
    });
});

describe('mergeFiles', () => {
  test('sections merge by name, services by the service rules', () => {
    const base = {
      name: 'a',
      services: { web: { image: 'busybox', environment: { A: '1' } }, db: { image: 'db' } },
      volumes: { data: {} },
    };
    const over = {
      name: 'b',
      services: { web: { environment: { B: '2' } }, cache: { image: 'cache' } },
      networks: { back: {} },
    };
    assert.deepEqual(mergeFiles(base, over), {
      name: 'b',
      services: {
        web: { image: 'busybox', environment: { A: '1', B: '2' } },
        db: { image: 'db' },
        cache: { image: 'cache' },
      },
      volumes: { data: {} },
      networks: { back: {} },
    });
  });
});
