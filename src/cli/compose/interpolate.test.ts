/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's interpolation syntax, not JavaScript's */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InterpolationError, interpolate, interpolateTree } from './interpolate.js';

const vars: Record<string, string> = { NAME: 'web', EMPTY: '', PORT: '8080' };
const lookup = (name: string): string | undefined => vars[name];

describe('interpolate', () => {
  const cases: [string, string, string][] = [
    ['plain text', 'busybox', 'busybox'],
    ['braced', '${NAME}-1', 'web-1'],
    ['bare', '$NAME/x', 'web/x'],
    ['unset is empty', 'a${NOPE}b', 'ab'],
    ['$$ is a literal dollar', 'echo $$HOME', 'echo $HOME'],
    [':- default when unset', '${NOPE:-d}', 'd'],
    [':- default when empty', '${EMPTY:-d}', 'd'],
    ['- keeps an empty value', '${EMPTY-d}', ''],
    ['- default when unset', '${NOPE-d}', 'd'],
    [':- keeps a set value', '${PORT:-80}', '8080'],
    ['nested default', '${NOPE:-${NAME}-x}', 'web-x'],
    [':+ alternative when set', '${NAME:+on}', 'on'],
    [':+ nothing when empty', '${EMPTY:+on}', ''],
    ['+ alternative when empty but set', '${EMPTY+on}', 'on'],
    ['a lone dollar stays', 'cost: 5$', 'cost: 5$'],
    [':? passes when set', '${NAME:?need it}', 'web'],
  ];
  for (const [name, input, want] of cases)
    test(name, () => {
      assert.equal(interpolate(input, lookup), want);
    });

  const errors: [string, string, RegExp][] = [
    [':? unset', '${NOPE:?set NOPE please}', /^required variable NOPE is missing a value: set NOPE please$/],
    [':? empty', '${EMPTY:?}', /^required variable EMPTY is missing a value$/],
    ['? unset', '${NOPE?x}', /required variable NOPE is missing a value: x/],
    ['missing brace', '${NAME', /invalid interpolation format for "\$\{NAME": missing "\}"/],
    ['bad name', '${1X}', /invalid interpolation format for "\$\{1X\}"/],
    ['bad operator', '${NAME:=x}', /invalid interpolation format/],
  ];
  for (const [name, input, want] of errors)
    test(`error: ${name}`, () => {
      assert.throws(
        () => interpolate(input, lookup),
        (e: unknown) => {
          assert.ok(e instanceof InterpolationError);
          assert.match(e.message, want);
          return true;
        },
      );
    });
});

describe('interpolateTree', () => {
  test('expands values, not keys, through lists and mappings', () => {
    const tree = { services: { $NAME: { image: '${NAME}', ports: ['${PORT}:80', 3] } } };
    assert.deepEqual(interpolateTree(tree, lookup), {
      services: { $NAME: { image: 'web', ports: ['8080:80', 3] } },
    });
  });

  test('errors name the path', () => {
    assert.throws(
      () => interpolateTree({ services: { web: { image: '${IMG:?no image}' } } }, lookup),
      /^InterpolationError: error while interpolating services\.web\.image: required variable IMG is missing a value: no image$/,
    );
  });
});
