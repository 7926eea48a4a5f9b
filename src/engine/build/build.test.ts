import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDockerfile } from './dockerfile.js';
import { IgnoreMatcher } from './dockerignore.js';
import { expandWord, expandWords } from './substitute.js';

// Dockerfile text holds `${x}`, which is not a template here.
const D = '$';

test('expandWord follows Docker substitution rules', () => {
  const vars = new Map([
    ['A', 'x'],
    ['EMPTY', ''],
  ]);
  const cases: [string, string][] = [
    ['$A', 'x'],
    [`${D}{A}y`, 'xy'],
    [`${D}{B:-def}`, 'def'],
    [`${D}{EMPTY:-def}`, 'def'],
    [`${D}{EMPTY-def}`, ''],
    [`${D}{A:+set}`, 'set'],
    [`${D}{B:+set}`, ''],
    ['\\$A', '$A'],
    ["'$A'", '$A'],
    ['"$A b"', 'x b'],
    ['$', '$'],
  ];
  for (const [input, want] of cases) assert.equal(expandWord(input, vars), want, input);
  assert.deepEqual(expandWords('a "b c" $A', vars), ['a', 'b c', 'x']);
});

test('parseDockerfile joins continuations, skips comments and reads directives', () => {
  const file = parseDockerfile(
    '# escape=`\nFROM busybox\nRUN echo a `\n# inside\n  b\nCOPY <<EOF /x\nhi\nEOF\n',
  );
  assert.equal(file.escapeChar, '`');
  assert.deepEqual(
    file.instructions.map((i) => i.original),
    ['FROM busybox', 'RUN echo a   b', 'COPY <<EOF /x'],
  );
  assert.equal(file.instructions[2]?.heredocs[0]?.content, 'hi\n');
  assert.throws(() => parseDockerfile('FROM busybox\nBOGUS x\n'), /line 2: unknown instruction: BOGUS/);
});

test('IgnoreMatcher applies patterns, ** and exceptions in order', () => {
  const m = new IgnoreMatcher('**/*.log\n!keep.log\nsecret\n# comment\n/abs/*.txt\n');
  const cases: [string, boolean][] = [
    ['a.log', true],
    ['x/y/z.log', true],
    ['keep.log', false],
    ['secret/key', true],
    ['abs/a.txt', true],
    ['abs/sub/a.txt', false],
    ['main.go', false],
  ];
  for (const [path, want] of cases) assert.equal(m.isIgnored(path), want, path);
});
