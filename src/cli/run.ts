import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { NotFoundError } from '../api/index.js';
import { attachStartAndWait, runFailure, startFailureStatus } from './attach.js';
import type { CliContext } from './context.js';
import { describeError, StatusError } from './errors.js';
import { addRunFlags, buildCreateRequest, imageWithDefaultTag, type RunFlags } from './run-flags.js';

/** Creates the container, saying first that the image is missing, as docker does before it would pull. */
async function createContainer(
  ctx: CliContext,
  command: 'run' | 'create',
  image: string,
  args: string[],
  flags: RunFlags,
): Promise<string> {
  let request: ReturnType<typeof buildCreateRequest>;
  try {
    request = buildCreateRequest(image, args, flags, {
      env: ctx.io.env,
      readFile: (p) => readFileSync(p, 'utf8'),
    });
  } catch (e) {
    throw runFailure(e, command, 125);
  }
  try {
    const created = await ctx
      .client()
      .containers.create(request.body, request.name !== undefined ? { name: request.name } : {});
    for (const warning of created.Warnings ?? []) ctx.err(`WARNING: ${warning}\n`);
    return created.Id;
  } catch (e) {
    // Pulling is not there yet, so a missing image ends here with the daemon's message.
    // A missing network or --link target is a 404 too, and says so itself.
    if (e instanceof NotFoundError && e.message.startsWith('No such image'))
      ctx.err(`Unable to find image '${imageWithDefaultTag(image)}' locally\n`);
    throw runFailure(e, command, 125);
  }
}

export function defineRun(cmd: Command, ctx: CliContext): Command {
  return addRunFlags(cmd, { withDetach: true })
    .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
    .description('Create and run a new container from an image')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .action(async (image: string, args: string[], flags: RunFlags & { detachKeys?: string }) => {
      const id = await createContainer(ctx, 'run', image, args, flags);
      const onStartError = (e: unknown) => runFailure(e, 'run', startFailureStatus(describeError(e)));
      if (flags.detach) {
        try {
          await ctx.client().containers.start(id);
        } catch (e) {
          throw onStartError(e);
        }
        ctx.out(`${id}\n`);
        return;
      }
      const status = await attachStartAndWait(ctx, id, {
        tty: !!flags.tty,
        interactive: !!flags.interactive,
        autoRemove: !!flags.rm,
        detachKeys: flags.detachKeys,
        onStartError,
      });
      if (status !== 0) throw new StatusError(status);
    });
}

export function defineCreate(cmd: Command, ctx: CliContext): Command {
  return addRunFlags(cmd, { withDetach: false })
    .description('Create a new container')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .action(async (image: string, args: string[], flags: RunFlags) => {
      ctx.out(`${await createContainer(ctx, 'create', image, args, flags)}\n`);
    });
}
