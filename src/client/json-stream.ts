import type { Readable } from 'node:stream';

/**
 * Reads a stream of JSON values, one per line, as Docker writes them for events,
 * load, import and pull. Blank lines are skipped; a line that is not JSON is an error,
 * since dropping it would hide what the daemon said.
 */
export async function* readJsonLines<T>(source: Readable): AsyncGenerator<T> {
  let pending = '';
  for await (const chunk of source) {
    pending += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line !== '') yield JSON.parse(line) as T;
      newline = pending.indexOf('\n');
    }
  }
  const last = pending.trim();
  if (last !== '') yield JSON.parse(last) as T;
}
