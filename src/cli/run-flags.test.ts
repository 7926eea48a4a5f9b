import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerCreateRequest } from '../api/index.js';
import { UsageError } from './errors.js';
import { buildCreateRequest, imageWithDefaultTag, parseEnvFile, type RunFlags } from './run-flags.js';

const context = {
  env: { HOME: '/home/u', EMPTY: '' },
  readFile: (path: string) => {
    if (path === 'app.env') return '# comment\n\nFROM_FILE=1\n  INDENTED=2\nHOME\nUNSET\n';
    throw new Error(`no file ${path}`);
  },
};

describe('buildCreateRequest', () => {
  const cases: [string, string[], RunFlags, Partial<ContainerCreateRequest>][] = [
    [
      'foreground defaults attach stdout and stderr',
      [],
      {},
      {
        Image: 'busybox',
        AttachStdout: true,
        AttachStderr: true,
        AttachStdin: false,
        OpenStdin: false,
        Tty: false,
      },
    ],
    ['detached attaches nothing', [], { detach: true }, { AttachStdout: false, AttachStderr: false }],
    [
      '-i keeps stdin open once',
      [],
      { interactive: true },
      { AttachStdin: true, OpenStdin: true, StdinOnce: true },
    ],
    [
      '-d -i opens stdin without attaching',
      [],
      { detach: true, interactive: true },
      { AttachStdin: false, OpenStdin: true, StdinOnce: false },
    ],
    ['-t asks for a tty', [], { tty: true }, { Tty: true }],
    ['command after the image', ['sh', '-c', 'echo hi'], {}, { Cmd: ['sh', '-c', 'echo hi'] }],
    [
      '-e with a value, bare -e from the environment, unset dropped',
      [],
      { env: ['A=1', 'HOME', 'NOPE', 'EMPTY'] },
      { Env: ['A=1', 'HOME=/home/u', 'EMPTY='] },
    ],
    [
      '--env-file entries come before -e',
      [],
      { envFile: ['app.env'], env: ['A=1'] },
      { Env: ['FROM_FILE=1', 'INDENTED=2', 'HOME=/home/u', 'A=1'] },
    ],
    [
      'labels with and without values',
      [],
      { label: ['a=b', 'flag', 'c=d=e'] },
      { Labels: { a: 'b', flag: '', c: 'd=e' } },
    ],
    ['--entrypoint is one word', [], { entrypoint: 'sh -c' }, { Entrypoint: ['sh -c'] }],
    ['--entrypoint "" clears it', [], { entrypoint: '' }, { Entrypoint: [''] }],
    [
      '-w -u -h',
      [],
      { workdir: '/app', user: '1000:1000', hostname: 'box' },
      { WorkingDir: '/app', User: '1000:1000', Hostname: 'box' },
    ],
    [
      '--rm, --restart and --network go to HostConfig',
      [],
      { rm: true, network: 'host' },
      { HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'no' }, NetworkMode: 'host' } },
    ],
    [
      '--restart on-failure:3',
      [],
      { restart: 'on-failure:3' },
      { HostConfig: { AutoRemove: false, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } } },
    ],
  ];
  for (const [name, command, flags, expected] of cases) {
    it(name, () => {
      const { body } = buildCreateRequest('busybox', command, flags, context);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(body[key], value, key);
    });
  }

  it('passes the name on its own, for the query', () => {
    assert.equal(buildCreateRequest('busybox', [], { name: 'web' }, context).name, 'web');
  });

  const invalid: [string, RunFlags][] = [
    ['--rm with a restart policy', { rm: true, restart: 'always' }],
    ['an unknown restart policy', { restart: 'sometimes' }],
    ['a retry count on always', { restart: 'always:2' }],
    ['an env entry without a name', { env: ['=x'] }],
    ['a label without a name', { label: ['=x'] }],
  ];
  for (const [name, flags] of invalid) {
    it(`rejects ${name}`, () =>
      assert.throws(() => buildCreateRequest('busybox', [], flags, context), UsageError));
  }
});

describe('parseEnvFile', () => {
  it('rejects names with whitespace', () => assert.throws(() => parseEnvFile('A B=1', 'f'), UsageError));
});

describe('imageWithDefaultTag', () => {
  const cases: [string, string][] = [
    ['busybox', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['app@sha256:abc', 'app@sha256:abc'],
  ];
  for (const [input, expected] of cases) it(input, () => assert.equal(imageWithDefaultTag(input), expected));
});
