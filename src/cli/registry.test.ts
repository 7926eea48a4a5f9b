import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configPathOf, ProgressDisplay, registryOfReference, splitPullReference } from './registry.js';

describe('splitPullReference', () => {
  const digest = `sha256:${'b'.repeat(64)}`;
  const cases: [string, { name: string; tag: string | undefined }][] = [
    ['busybox', { name: 'busybox', tag: undefined }],
    ['busybox:1', { name: 'busybox', tag: '1' }],
    ['127.0.0.1:5000/team/app', { name: '127.0.0.1:5000/team/app', tag: undefined }],
    ['127.0.0.1:5000/team/app:2', { name: '127.0.0.1:5000/team/app', tag: '2' }],
    [`reg/app@${digest}`, { name: 'reg/app', tag: digest }],
  ];
  for (const [ref, expected] of cases) test(ref, () => assert.deepEqual(splitPullReference(ref), expected));
});

test('registryOfReference', () => {
  assert.equal(registryOfReference('busybox'), 'https://index.docker.io/v1/');
  assert.equal(registryOfReference('team/app'), 'https://index.docker.io/v1/');
  assert.equal(registryOfReference('localhost/app'), 'localhost');
  assert.equal(registryOfReference('127.0.0.1:5000/team/app:1'), '127.0.0.1:5000');
});

test('configPathOf', () => {
  assert.equal(configPathOf({ BERTH_CONFIG: '/c', HOME: '/h' }), '/c/config.json');
  assert.equal(configPathOf({ HOME: '/h' }), '/h/.berth/config.json');
});

describe('ProgressDisplay', () => {
  test('off a terminal: each status once, byte counts left out', () => {
    let text = '';
    const display = new ProgressDisplay((s) => {
      text += s;
    }, false);
    display.show({ status: 'Pulling from team/app', id: '1' });
    display.show({ status: 'Pulling fs layer', id: 'abc' });
    display.show({ status: 'Downloading', id: 'abc', progressDetail: { current: 1, total: 2 } });
    display.show({ status: 'Pull complete', id: 'abc' });
    display.show({ aux: { Tag: '1' } });
    assert.equal(text, '1: Pulling from team/app\nabc: Pulling fs layer\nabc: Pull complete\n');
  });
  test('on a terminal: a layer line is rewritten in place', () => {
    let text = '';
    const display = new ProgressDisplay((s) => {
      text += s;
    }, true);
    display.show({ status: 'Pulling fs layer', id: 'a' });
    display.show({ status: 'Pulling fs layer', id: 'b' });
    display.show({ status: 'Pull complete', id: 'a' });
    assert.ok(text.endsWith('\x1b[2A\r\x1b[2Ka: Pull complete\r\x1b[2B'), JSON.stringify(text));
  });
  test('an error line fails with status 1', () => {
    const display = new ProgressDisplay(() => undefined, false);
    assert.throws(() => display.show({ error: 'boom', errorDetail: { message: 'boom' } }), /boom/);
  });
});
