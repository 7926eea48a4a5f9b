import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RegistryError } from './errors.js';
import { checkName, parseDigest, parseReference } from './names.js';

const HEX64 = 'a'.repeat(64);

test('repository names follow the spec grammar', () => {
  const cases: [string, boolean][] = [
    ['busybox', true],
    ['team/busybox', true],
    ['a.b_c__d-e--f/g', true],
    ['a/b/c/d', true],
    ['Busybox', false],
    ['-busybox', false],
    ['a//b', false],
    ['a/', false],
    ['_a', false],
    ['a___b', false],
    [`${'a'.repeat(256)}`, false],
  ];
  for (const [name, ok] of cases) {
    if (ok) assert.doesNotThrow(() => checkName(name), name);
    else
      assert.throws(
        () => checkName(name),
        (e: unknown) => e instanceof RegistryError && e.code === 'NAME_INVALID',
        name,
      );
  }
});

test('digests: sha256 and sha512 with the right length of lowercase hex', () => {
  const cases: [string, boolean][] = [
    [`sha256:${HEX64}`, true],
    [`sha512:${'b'.repeat(128)}`, true],
    [`sha256:${'A'.repeat(64)}`, false],
    [`sha256:${'a'.repeat(63)}`, false],
    [`md5:${'a'.repeat(32)}`, false],
    ['sha256:baddigeststring', false],
    [HEX64, false],
  ];
  for (const [s, ok] of cases) {
    if (ok) assert.equal(`${parseDigest(s).algorithm}:${parseDigest(s).hex}`, s);
    else
      assert.throws(
        () => parseDigest(s),
        (e: unknown) => e instanceof RegistryError && e.code === 'DIGEST_INVALID',
        s,
      );
  }
});

test('a reference is a tag or a digest', () => {
  const invalid = () => new RegistryError('MANIFEST_INVALID', 'bad tag');
  assert.deepEqual(parseReference('v1.0_rc-1', invalid), { tag: 'v1.0_rc-1' });
  assert.deepEqual(parseReference(`sha256:${HEX64}`, invalid), {
    digest: { algorithm: 'sha256', hex: HEX64 },
  });
  for (const bad of ['.hidden', '-x', 'a'.repeat(129), 'with space']) {
    assert.throws(() => parseReference(bad, invalid), /bad tag/, bad);
  }
});
