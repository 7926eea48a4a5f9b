import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { familiarString, matchesReferencePattern, parseReference, parseTaggedName } from './reference.js';

describe('parseTaggedName', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['docker.io/library/busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io/user/app:latest', 'user/app:latest'],
    ['myreg:5000/x/y:tag', 'myreg:5000/x/y:tag', 'myreg:5000/x/y:tag'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['a.b-c/d__e.f:T_1.x-', 'a.b-c/d__e.f:T_1.x-', 'a.b-c/d__e.f:T_1.x-'],
  ];
  for (const [input, full, familiar] of cases) {
    it(`normalizes ${input}`, () => {
      const ref = parseTaggedName(input);
      assert.equal(`${ref.domain}/${ref.path}:${ref.tag}`, full);
      assert.equal(familiarString(ref), familiar);
    });
  }

  const invalid: [string, string][] = [
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    ['busybox:-x', 'invalid reference format'],
    [`busybox:${'a'.repeat(129)}`, 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['', 'invalid reference format'],
    ['-a', 'invalid reference format'],
    [
      'a'.repeat(64),
      `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`,
    ],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input.slice(0, 20))}`, () => {
      assert.throws(() => parseTaggedName(input), new InvalidArgumentError(message));
    });
  }
});

describe('matchesReferencePattern', () => {
  const cases: [string, string, boolean][] = [
    ['busybox', 'busybox:latest', true],
    ['busy*', 'busybox:latest', true],
    ['busybox:1*', 'busybox:latest', false],
    ['*/y', 'x/y:1', true],
    ['*', 'x/y:1', false],
  ];
  for (const [pattern, ref, expected] of cases) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${ref}`, () => {
      assert.equal(matchesReferencePattern(pattern, parseReference(ref)), expected);
    });
  }
});
