import type { Readable } from 'node:stream';
import { readJsonLines } from './json-stream.js';
import type { Transport } from './transport.js';
import type { JsonMessage } from './types.js';

export interface BuildOptions {
  tags?: string[];
  /** The Dockerfile's path inside the context. */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  noCache?: boolean;
  quiet?: boolean;
  networkMode?: string;
  /** Look for a newer FROM image in its registry first. */
  pull?: boolean;
}

export interface BuildApi {
  /** `POST /build` with a tar of the context; yields the daemon's messages (`stream`, `aux`, `error`). */
  build(context: Readable, opts?: BuildOptions): Promise<AsyncIterable<JsonMessage>>;
  /** `POST /build/prune`. */
  prune(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
}

export function buildApi(t: Transport): BuildApi {
  return {
    build: async (context, opts = {}) => {
      const res = await t.send({
        method: 'POST',
        path: '/build',
        query: {
          t: opts.tags,
          dockerfile: opts.dockerfile,
          buildargs: opts.buildArgs ? JSON.stringify(opts.buildArgs) : undefined,
          target: opts.target,
          labels: opts.labels ? JSON.stringify(opts.labels) : undefined,
          nocache: opts.noCache,
          q: opts.quiet,
          networkmode: opts.networkMode,
          pull: opts.pull,
          rm: true,
        },
        body: context,
        contentType: 'application/x-tar',
      });
      return readJsonLines<JsonMessage>(res);
    },
    prune: () => t.json({ method: 'POST', path: '/build/prune' }),
  };
}
