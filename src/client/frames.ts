import type { Readable } from 'node:stream';
import { FrameDecoder, StreamKind } from '../api/index.js';

export interface OutputSinks {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Copies a container's output to the sinks until the stream ends: Docker frames go
 * to the stream they name (system errors to stderr); raw TTY bytes go to stdout.
 */
export async function copyFrames(
  source: Readable,
  isMultiplexed: boolean,
  sinks: OutputSinks,
): Promise<void> {
  const decoder = new FrameDecoder();
  for await (const chunk of source) {
    const bytes = chunk as Buffer;
    if (!isMultiplexed) {
      await write(sinks.stdout, bytes);
      continue;
    }
    for (const frame of decoder.push(bytes)) {
      await write(frame.kind === StreamKind.Stdout ? sinks.stdout : sinks.stderr, frame.payload);
    }
  }
}

/** Honours back-pressure so a slow consumer (a pipe to `less`) does not buffer all logs in memory. */
function write(sink: NodeJS.WritableStream, bytes: Buffer): Promise<void> {
  if (sink.write(bytes)) return Promise.resolve();
  return new Promise((resolve) => sink.once('drain', resolve));
}
