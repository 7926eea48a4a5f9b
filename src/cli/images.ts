import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { ImageHistoryResponseItem, ImageSummary } from '../api/index.js';
import type { JsonMessage } from '../client/index.js';
import { confirm } from './confirm.js';
import type { CliContext } from './context.js';
import { StatusError, UsageError } from './errors.js';
import { ellipsis, formatGoTime, humanSize, shortId, timeAgo } from './format.js';
import { forEachItem } from './items.js';
import { type ListRow, renderList, sortedKeys } from './list-format.js';
import { collect, parseFilters, splitRepoTag } from './options.js';

const IMAGE_HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  Containers: 'CONTAINERS',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'SIZE',
};

function isDangling(image: ImageSummary): boolean {
  const tags = (image.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  const digests = (image.RepoDigests ?? []).filter((d) => d !== '<none>@<none>');
  return tags.length === 0 && digests.length === 0;
}

/**
 * One row per repository and tag (and per digest with `--digests`), as `docker images`
 * lists them; an image with neither is one `<none>` row.
 */
export function imageRows(
  images: ImageSummary[],
  opts: { trunc: boolean; digests: boolean; nowMs: number },
): ListRow[] {
  const rows: ListRow[] = [];
  for (const image of images) {
    const row = (repository: string, tag: string, digest: string): ListRow =>
      sortedKeys({
        Containers: image.Containers === -1 ? 'N/A' : String(image.Containers ?? 'N/A'),
        CreatedAt: formatGoTime(image.Created),
        CreatedSince: image.Created === 0 ? 'N/A' : timeAgo(image.Created, opts.nowMs),
        Digest: digest,
        ID: opts.trunc ? shortId(image.Id) : image.Id,
        Repository: repository,
        SharedSize: image.SharedSize === -1 ? 'N/A' : humanSize(image.SharedSize ?? 0, 3),
        Size: humanSize(image.Size, 3),
        Tag: tag,
        UniqueSize:
          image.SharedSize === -1 ? 'N/A' : humanSize(image.Size - Math.max(0, image.SharedSize ?? 0), 3),
        VirtualSize: humanSize(image.Size, 3),
      });
    if (isDangling(image)) {
      rows.push(row('<none>', '<none>', '<none>'));
      continue;
    }
    const tagsByRepo = new Map<string, string[]>();
    const digestsByRepo = new Map<string, string[]>();
    for (const ref of image.RepoTags ?? []) {
      const { repo, tag } = splitRepoTag(ref);
      if (tag === undefined || ref === '<none>:<none>') continue;
      tagsByRepo.set(repo, [...(tagsByRepo.get(repo) ?? []), tag]);
    }
    for (const ref of image.RepoDigests ?? []) {
      const at = ref.indexOf('@');
      if (at < 0 || ref === '<none>@<none>') continue;
      const repo = ref.slice(0, at);
      digestsByRepo.set(repo, [...(digestsByRepo.get(repo) ?? []), ref.slice(at + 1)]);
    }
    for (const [repo, tags] of tagsByRepo) {
      const digests = opts.digests ? (digestsByRepo.get(repo) ?? []) : [];
      digestsByRepo.delete(repo);
      for (const tag of tags) {
        if (digests.length === 0) rows.push(row(repo, tag, '<none>'));
        for (const digest of digests) rows.push(row(repo, tag, digest));
      }
    }
    for (const [repo, digests] of digestsByRepo) {
      if (opts.digests) for (const digest of digests) rows.push(row(repo, '<none>', digest));
      else rows.push(row(repo, '<none>', ''));
    }
  }
  return rows;
}

interface ImagesFlags {
  all?: boolean;
  quiet?: boolean;
  filter?: string[];
  format?: string;
  trunc: boolean;
  digests?: boolean;
}

function defineImages(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List images')
    .argument('[repository]', 'REPOSITORY[:TAG]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (repository: string | undefined, flags: ImagesFlags) => {
      const filters = parseFilters(flags.filter);
      if (repository !== undefined) filters.reference = [...(filters.reference ?? []), repository];
      const images = await ctx.client().images.list({ all: !!flags.all, filters });
      const digests = !!flags.digests;
      const defaultFormat = digests
        ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
        : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
      const format = flags.quiet ? '{{.ID}}' : (flags.format ?? '');
      const rows = imageRows(images, { trunc: flags.trunc, digests, nowMs: ctx.now() });
      ctx.out(renderList(rows, { format, defaultFormat, headers: IMAGE_HEADERS }));
    });
}

/** Prints a load/import message stream as docker does on a non-terminal; fails on an error message. */
async function printMessages(ctx: CliContext, messages: AsyncIterable<JsonMessage>): Promise<void> {
  for await (const m of messages) {
    if (m.error !== undefined || m.errorDetail !== undefined) {
      throw new StatusError(1, m.errorDetail?.message ?? m.error ?? 'unknown error');
    }
    if (m.stream !== undefined) ctx.out(m.stream);
    else if (m.status !== undefined) {
      const id = m.id ? `${m.id}: ` : '';
      ctx.out(`${id}${m.status}${m.progress ? ` ${m.progress}` : ''}\n`);
    }
  }
}

function defineLoad(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Load an image from a tar archive or STDIN')
    .option('-i, --input <string>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .action(async (flags: { input?: string; quiet?: boolean }) => {
      if (flags.input === undefined && ctx.io.stdin.isTTY) {
        throw new UsageError('requested load from stdin, but stdin is empty');
      }
      const tar = (flags.input !== undefined ? createReadStream(flags.input) : ctx.io.stdin) as Readable;
      const messages = await ctx.client().images.load(tar, { quiet: !!flags.quiet });
      await printMessages(ctx, messages);
    });
}

/** Writes beside the target and renames, so an interrupted save never leaves a partial archive under its name. */
async function saveToFile(source: Readable, path: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.berth-${process.pid}`);
  try {
    await pipeline(source, createWriteStream(temporary));
    await rename(temporary, path);
  } catch (e) {
    await unlink(temporary).catch(() => undefined); // the write error is the one to report
    throw e;
  }
}

function defineSave(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Save one or more images to a tar archive (streamed to STDOUT by default)')
    .argument('<image...>')
    .option('-o, --output <string>', 'Write to a file, instead of STDOUT')
    .action(async (images: string[], flags: { output?: string }) => {
      if (flags.output === undefined && ctx.io.stdout.isTTY) {
        throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
      }
      const archive = await ctx.client().images.save(images);
      if (flags.output !== undefined) await saveToFile(archive, flags.output);
      else await pipeline(archive, ctx.io.stdout, { end: false });
    });
}

function defineImport(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Import the contents from a tarball to create a filesystem image')
    .argument('<file|URL|->')
    .argument('[repository]', 'REPOSITORY[:TAG]')
    .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
    .option('-m, --message <string>', 'Set commit message for imported image')
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .action(
      async (
        source: string,
        reference: string | undefined,
        flags: { change?: string[]; message?: string },
      ) => {
        const target = reference !== undefined ? splitRepoTag(reference) : undefined;
        const from = /^https?:\/\//.test(source)
          ? { url: source }
          : { tar: (source === '-' ? ctx.io.stdin : createReadStream(source)) as Readable };
        const messages = await ctx.client().images.import(from, {
          ...(target ? { repo: target.repo } : {}),
          ...(target?.tag !== undefined ? { tag: target.tag } : {}),
          ...(flags.change ? { changes: flags.change } : {}),
          ...(flags.message !== undefined ? { message: flags.message } : {}),
        });
        await printMessages(ctx, messages);
      },
    );
}

function defineTag(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .argument('<source_image>', 'SOURCE_IMAGE[:TAG]')
    .argument('<target_image>', 'TARGET_IMAGE[:TAG]')
    .action(async (source: string, target: string) => {
      const { repo, tag } = splitRepoTag(target);
      await ctx.client().images.tag(source, { repo, tag: tag ?? 'latest' });
    });
}

function defineRmi(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove one or more images')
    .argument('<image...>')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(async (images: string[], flags: { force?: boolean; prune: boolean }) => {
      await forEachItem(ctx, images, async (image) => {
        const deleted = await ctx
          .client()
          .images.remove(image, { force: !!flags.force, noPrune: !flags.prune });
        return deleted
          .map((d) => (d.Untagged !== undefined ? `Untagged: ${d.Untagged}` : `Deleted: ${d.Deleted ?? ''}`))
          .join('\n');
      });
    });
}

export function historyRow(
  h: ImageHistoryResponseItem,
  opts: { trunc: boolean; human: boolean; nowMs: number },
): ListRow {
  const createdBy = h.CreatedBy.replace(/\t/g, ' ');
  return sortedKeys({
    Comment: h.Comment,
    CreatedAt: formatGoTime(h.Created),
    CreatedBy: opts.trunc ? ellipsis(createdBy, 45) : createdBy,
    CreatedSince: opts.human ? timeAgo(h.Created, opts.nowMs) : formatGoTime(h.Created),
    ID: h.Id === '<missing>' || !opts.trunc ? h.Id : shortId(h.Id),
    Size: opts.human ? humanSize(h.Size, 3) : String(h.Size),
  });
}

function defineHistory(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Show the history of an image')
    .argument('<image>')
    .option('--format <string>', 'Format output using a custom template')
    .option('--human <bool>', 'Print sizes and dates in human readable format', 'true')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(
      async (image: string, flags: { format?: string; human: string; trunc: boolean; quiet?: boolean }) => {
        const history = await ctx.client().images.history(image);
        const human = flags.human !== 'false';
        const rows = history.map((h) => historyRow(h, { trunc: flags.trunc, human, nowMs: ctx.now() }));
        ctx.out(
          renderList(rows, {
            format: flags.quiet ? '{{.ID}}' : (flags.format ?? ''),
            defaultFormat: 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}',
            headers: {
              ID: 'IMAGE',
              CreatedSince: 'CREATED',
              CreatedAt: 'CREATED AT',
              CreatedBy: 'CREATED BY',
              Size: 'SIZE',
              Comment: 'COMMENT',
            },
          }),
        );
      },
    );
}

function definePrune(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Remove unused images')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { all?: boolean; filter?: string[]; force?: boolean }) => {
      const warning = flags.all
        ? 'WARNING! This will remove all images without at least one container associated to them.'
        : 'WARNING! This will remove all dangling images.';
      if (!flags.force && !(await confirm(ctx, `${warning}\nAre you sure you want to continue?`))) return;
      const filters = parseFilters(flags.filter);
      filters.dangling = [String(!flags.all)];
      const report = await ctx.client().images.prune({ filters });
      const deleted = report.ImagesDeleted ?? [];
      if (deleted.length > 0) {
        ctx.out('Deleted Images:\n');
        for (const d of deleted) {
          ctx.out(d.Untagged !== undefined ? `untagged: ${d.Untagged}\n` : `deleted: ${d.Deleted ?? ''}\n`);
        }
        ctx.out('\n');
      }
      ctx.out(`Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
    });
}

/** `images`, `load`, `save`, `import`, `tag`, `rmi`, `history` at the top level and under `image`. */
export function registerImageCommands(
  program: Command,
  ctx: CliContext,
  inspect: (cmd: Command) => Command,
): void {
  defineImages(program.command('images'), ctx);
  defineLoad(program.command('load'), ctx);
  defineSave(program.command('save'), ctx);
  defineImport(program.command('import'), ctx);
  defineTag(program.command('tag'), ctx);
  defineRmi(program.command('rmi'), ctx);
  defineHistory(program.command('history'), ctx);

  const image = program.command('image').description('Manage images');
  defineImages(image.command('ls').aliases(['list']), ctx);
  defineLoad(image.command('load'), ctx);
  defineSave(image.command('save'), ctx);
  defineImport(image.command('import'), ctx);
  defineTag(image.command('tag'), ctx);
  defineRmi(image.command('rm').aliases(['remove', 'rmi']), ctx);
  defineHistory(image.command('history'), ctx);
  definePrune(image.command('prune'), ctx);
  inspect(image.command('inspect'));
}
