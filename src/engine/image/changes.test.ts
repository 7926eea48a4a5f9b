import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../api/index.js';
import { applyChanges } from './changes.js';

describe('applyChanges', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['CMD ["a", "b"]', { Cmd: ['a', 'b'] }],
    ['CMD echo "hi there"', { Cmd: ['/bin/sh', '-c', 'echo "hi there"'] }],
    ['ENTRYPOINT ["/bin/app"]', { Entrypoint: ['/bin/app'] }],
    ['ENV PATH /usr/bin:/bin', { Env: ['PATH=/usr/bin:/bin'] }],
    ["ENV A=1 B='x y'", { Env: ['A=1', 'B=x y'] }],
    ['EXPOSE 8000-8001/udp', { ExposedPorts: { '8000/udp': {}, '8001/udp': {} } }],
    ['LABEL "a b"=c d=e', { Labels: { 'a b': 'c', d: 'e' } }],
    ['user 1000:1000', { User: '1000:1000' }],
    ['WORKDIR rel', { WorkingDir: '/rel' }],
    ['VOLUME /a /b', { Volumes: { '/a': {}, '/b': {} } }],
    ['STOPSIGNAL 9', { StopSignal: '9' }],
  ];
  for (const [line, expected] of cases) {
    it(line, () => assert.deepEqual(applyChanges({}, [line]), expected));
  }

  it('replaces an existing variable', () => {
    assert.deepEqual(applyChanges({ Env: ['A=1', 'B=2'] }, ['ENV A=3']), { Env: ['A=3', 'B=2'] });
  });

  for (const line of ['RUN true', 'FROM x', 'EXPOSE http', 'ENV', 'LABEL "unterminated=x']) {
    it(`rejects ${line}`, () => assert.throws(() => applyChanges({}, [line]), InvalidArgumentError));
  }
});
