/** `compose build` and the builds `up` needs: the context as a tar to `POST /build`. */

import type { CliContext } from '../context.js';
import { packLocal } from '../cp-tar.js';
import type { Progress } from './backend.js';
import { type BuildConfig, ProjectError } from './model.js';

export async function buildImage(
  ctx: CliContext,
  progress: Progress,
  image: string,
  build: BuildConfig,
  opts: { noCache?: boolean; pull?: boolean; quiet?: boolean } = {},
): Promise<void> {
  progress('Image', image, 'Building');
  const args = Object.fromEntries(
    Object.entries(build.args ?? {}).filter((e): e is [string, string] => e[1] !== null),
  );
  const messages = await ctx.client().build.build(packLocal(build.context, '.'), {
    tags: [image],
    ...(build.dockerfile !== undefined ? { dockerfile: build.dockerfile } : {}),
    buildArgs: args,
    ...(build.target !== undefined ? { target: build.target } : {}),
    ...(opts.noCache ? { noCache: true } : {}),
    ...(opts.pull ? { pull: true } : {}),
  });
  for await (const message of messages) {
    if (message.error !== undefined || message.errorDetail !== undefined)
      throw new ProjectError(`failed to solve: ${message.error ?? message.errorDetail?.message ?? ''}`);
    if (message.stream !== undefined && !opts.quiet) ctx.err(message.stream);
  }
  progress('Image', image, 'Built');
}
