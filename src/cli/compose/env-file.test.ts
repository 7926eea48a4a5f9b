/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose's interpolation syntax, not JavaScript's */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EnvFileError, parseEnvText, readEnvFile } from './env-file.js';

const outer = (name: string): string | undefined => ({ HOME: '/root', FROM_SHELL: 'shell' })[name];

describe('parseEnvText', () => {
  const cases: [string, string, Record<string, string>][] = [
    ['KEY=VALUE', 'A=1\nB=two', { A: '1', B: 'two' }],
    ['comments and blank lines', '# c\n\nA=1\n  # indented\n', { A: '1' }],
    ['export prefix', 'export A=1', { A: '1' }],
    ['spaces around', '  A = x y  ', { A: 'x y' }],
    ['inline comment after a space', 'A=1 # note', { A: '1' }],
    ['hash without space is kept', 'A=a#b', { A: 'a#b' }],
    ['single quotes are literal', "A='$HOME \\n'", { A: '$HOME \\n' }],
    ['double quotes escape', 'A="line\\nnext \\"q\\""', { A: 'line\nnext "q"' }],
    ['double quotes interpolate', 'A="${HOME}/x"', { A: '/root/x' }],
    ['unquoted interpolates earlier lines', 'A=1\nB=${A}2', { A: '1', B: '12' }],
    ['default in a value', 'A=${NOPE:-d}', { A: 'd' }],
    ['empty value', 'A=', { A: '' }],
    ['bare name takes the environment', 'FROM_SHELL\nNOT_SET', { FROM_SHELL: 'shell' }],
    ['CRLF lines', 'A=1\r\nB=2\r\n', { A: '1', B: '2' }],
  ];
  for (const [name, text, want] of cases)
    test(name, () => {
      assert.deepEqual(parseEnvText(text, '.env', outer), want);
    });

  test('a bad name names the file and line', () => {
    assert.throws(
      () => parseEnvText('A=1\nBAD NAME=2', 'x.env'),
      (e: unknown) =>
        e instanceof EnvFileError &&
        /^failed to read x\.env: line 2: unexpected character in variable name "BAD NAME"$/.test(e.message),
    );
  });
});

describe('readEnvFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-env-file-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a file', () => {
    writeFileSync(join(dir, 'a.env'), 'A=1\n');
    assert.deepEqual(readEnvFile(join(dir, 'a.env')), { A: '1' });
  });

  test('a missing file is a clear error', () => {
    const path = join(dir, 'nope.env');
    assert.throws(() => readEnvFile(path), {
      name: 'EnvFileError',
      message: `env file ${path} not found: stat ${path}: no such file or directory`,
    });
  });
});
