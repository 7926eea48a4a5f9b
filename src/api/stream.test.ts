import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, FrameDecoder, StreamKind } from './stream.js';

test('frames survive being split at any byte', () => {
  const wire = Buffer.concat([
    encodeFrame(StreamKind.Stdout, Buffer.from('hello\n')),
    encodeFrame(StreamKind.Stderr, Buffer.from('oops\n')),
  ]);
  for (let cut = 0; cut <= wire.length; cut++) {
    const decoder = new FrameDecoder();
    const frames = [...decoder.push(wire.subarray(0, cut)), ...decoder.push(wire.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.kind, f.payload.toString()]),
      [
        [StreamKind.Stdout, 'hello\n'],
        [StreamKind.Stderr, 'oops\n'],
      ],
    );
    assert.equal(decoder.bufferedBytes, 0);
  }
});

test('the header is Docker’s: kind, three zero bytes, big-endian length', () => {
  assert.deepEqual(
    [...encodeFrame(StreamKind.Stderr, Buffer.from('ab')).subarray(0, 8)],
    [2, 0, 0, 0, 0, 0, 0, 2],
  );
});
