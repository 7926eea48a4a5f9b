import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { JsonMessage } from '../client/index.js';
import type { CliContext } from './context.js';
import { packLocal } from './cp-tar.js';
import { StatusError, UsageError } from './errors.js';
import { humanSize } from './format.js';
import { collect } from './options.js';

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  noCache?: boolean;
  label: string[];
  quiet?: boolean;
  network?: string;
  iidfile?: string;
}

/** `KEY=VALUE` flags into a map; a bare `KEY` takes the value from our environment, as docker does. */
function keyValues(list: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq === -1) {
      const value = env[item];
      if (value !== undefined) out[item] = value;
    } else {
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return out;
}

/**
 * The context as a tar: a directory is packed whole (the daemon applies its
 * `.dockerignore`), `-` is a tar read from stdin, and a tar file is sent as is.
 */
async function contextOf(ctx: CliContext, path: string): Promise<Readable> {
  if (path === '-') {
    if (ctx.io.stdin.isTTY)
      throw new UsageError('requested build context from stdin, but stdin is a terminal');
    return ctx.io.stdin as Readable;
  }
  const stats = await stat(path).catch(() => undefined);
  if (!stats) throw new UsageError(`unable to prepare context: path "${path}" not found`);
  return stats.isDirectory() ? packLocal(path, '.') : createReadStream(path);
}

async function runBuild(ctx: CliContext, path: string, flags: BuildFlags): Promise<void> {
  const context = await contextOf(ctx, path);
  const messages = await ctx.client().build.build(context, {
    tags: flags.tag,
    ...(flags.file ? { dockerfile: flags.file } : {}),
    buildArgs: keyValues(flags.buildArg, process.env),
    ...(flags.target ? { target: flags.target } : {}),
    labels: keyValues(flags.label, {}),
    noCache: flags.noCache === true,
    quiet: flags.quiet === true,
    ...(flags.network ? { networkMode: flags.network } : {}),
  });
  let imageId = '';
  for await (const m of messages as AsyncIterable<JsonMessage>) {
    if (m.error !== undefined || m.errorDetail !== undefined) {
      const code = m.errorDetail?.code ?? 1;
      throw new StatusError(code === 0 ? 1 : code, m.errorDetail?.message ?? m.error ?? 'unknown error');
    }
    const aux = m.aux as { ID?: string } | undefined;
    if (aux?.ID) imageId = aux.ID;
    if (m.stream !== undefined && !flags.quiet) ctx.out(m.stream);
  }
  if (flags.quiet) ctx.out(`${imageId}\n`);
  if (flags.iidfile) await writeFile(flags.iidfile, imageId);
}

function defineBuild(cmd: Command, ctx: CliContext): void {
  cmd
    .description('Build an image from a Dockerfile')
    .argument('<path>', 'Context directory, tar file, or - for a tar on stdin')
    .option('-t, --tag <name>', 'Name and optionally a tag in the "name:tag" format', collect, [])
    .option('-f, --file <string>', 'Name of the Dockerfile (default: "PATH/Dockerfile")')
    .option('--build-arg <list>', 'Set build-time variables', collect, [])
    .option('--target <string>', 'Set the target build stage to build')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--label <list>', 'Set metadata for an image', collect, [])
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--network <string>', 'Set the networking mode for the RUN instructions during build')
    .option('--iidfile <string>', 'Write the image ID to the file')
    .action(async (path: string, raw: BuildFlags & { cache?: boolean }) => {
      // commander turns `--no-cache` into `cache: false`.
      await runBuild(ctx, path, { ...raw, noCache: raw.cache === false });
    });
}

/** `build` and `builder prune`. */
export function registerBuildCommands(program: Command, ctx: CliContext): void {
  defineBuild(program.command('build'), ctx);
  const builder = program.command('builder').description('Manage builds');
  builder
    .command('prune')
    .description('Remove build cache')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('-a, --all', 'Remove all unused build cache')
    .action(async () => {
      const result = await ctx.client().build.prune();
      const deleted = result.CachesDeleted ?? [];
      if (deleted.length > 0) ctx.out(`Deleted build cache objects:\n${deleted.join('\n')}\n\n`);
      ctx.out(`Total reclaimed space: ${humanSize(result.SpaceReclaimed)}\n`);
    });
}
