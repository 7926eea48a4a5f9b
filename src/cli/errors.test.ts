import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError, ConflictError, NotFoundError } from '../api/index.js';
import { DaemonConnectionError } from '../client/index.js';
import { startFailureStatus } from './attach.js';
import { describeError, exitCodeOf, StatusError, UsageError } from './errors.js';
import { TemplateError } from './template.js';

describe('exitCodeOf', () => {
  const cases: [string, unknown, string, number][] = [
    ['daemon error in rm', new NotFoundError('No such container: x'), 'rm', 1],
    ['daemon error in run', new NotFoundError('No such image: x'), 'run', 125],
    ['daemon error in create', new ConflictError('name in use'), 'create', 125],
    ['usage error in ps', new UsageError('bad'), 'ps', 1],
    ['container status passes through', new StatusError(3), 'run', 3],
    ['connection failure', new DaemonConnectionError('Cannot connect'), 'ps', 1],
  ];
  for (const [name, error, command, expected] of cases) {
    it(name, () => assert.equal(exitCodeOf(error, command), expected));
  }
});

describe('describeError', () => {
  const cases: [unknown, string][] = [
    [new NotFoundError('No such container: x'), 'Error response from daemon: No such container: x'],
    [new BerthError('boom'), 'Error response from daemon: boom'],
    [new DaemonConnectionError('Cannot connect to the berth daemon'), 'Cannot connect to the berth daemon'],
    [new TemplateError('unclosed action'), 'template parsing error: template: :1: unclosed action'],
    [new UsageError('bad format'), 'bad format'],
  ];
  for (const [error, expected] of cases) it(expected, () => assert.equal(describeError(error), expected));
});

describe('startFailureStatus', () => {
  const cases: [string, number][] = [
    ['exec: "nosuch": executable file not found in $PATH', 127],
    ['open /bin/x: no such file or directory', 127],
    ['exec /etc: permission denied', 126],
    ['cgroup trouble', 125],
  ];
  for (const [message, expected] of cases)
    it(message, () => assert.equal(startFailureStatus(message), expected));
});
