import type { Command } from 'commander';
import { NotFoundError } from '../api/index.js';
import type { Client } from '../client/index.js';
import type { CliContext } from './context.js';
import { describeError, StatusError, UsageError } from './errors.js';
import { parseGoTemplate } from './template.js';

export type InspectType = 'container' | 'image';

interface InspectFlags {
  format?: string;
  size?: boolean;
  type?: string;
}

async function inspectOne(
  client: Client,
  name: string,
  type: InspectType | undefined,
  size: boolean,
): Promise<unknown> {
  if (type === 'container') return client.containers.inspect(name, { size });
  if (type === 'image') return client.images.inspect(name);
  // Without --type docker tries each kind in turn and names none in its error.
  for (const kind of ['container', 'image'] as const) {
    try {
      return await inspectOne(client, name, kind, size);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
  }
  throw new StatusError(1, `Error: No such object: ${name}`);
}

/**
 * Docker's inspect output: a JSON array indented by four spaces, or with `-f` the
 * template applied to each object on its own line. Objects found are printed even
 * when others are not; the misses are reported after and exit 1.
 */
export async function runInspect(
  ctx: CliContext,
  names: string[],
  type: InspectType | undefined,
  flags: InspectFlags,
) {
  const template =
    flags.format !== undefined && flags.format !== '' ? parseGoTemplate(flags.format) : undefined;
  const found: unknown[] = [];
  const failures: string[] = [];
  for (const name of names) {
    try {
      found.push(await inspectOne(ctx.client(), name, type, !!flags.size));
    } catch (e) {
      failures.push(e instanceof StatusError ? e.message : describeError(e));
    }
  }
  if (template) {
    for (const object of found) ctx.out(`${template.execute(object)}\n`);
  } else {
    ctx.out(`${JSON.stringify(found, null, 4)}\n`);
  }
  if (failures.length > 0) throw new StatusError(1, failures.join('\n'));
}

function parseType(value: string | undefined): InspectType | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'container' || value === 'image') return value;
  throw new UsageError(`"${value}" is not a valid value for --type`);
}

/** `inspect`, or `container inspect`/`image inspect` when `fixedType` is given. */
export function defineInspect(cmd: Command, ctx: CliContext, fixedType?: InspectType): Command {
  cmd
    .description('Return low-level information on objects')
    .argument('<name...>')
    .option('-f, --format <string>', 'Format output using a custom template');
  if (fixedType !== 'image') cmd.option('-s, --size', 'Display total file sizes');
  if (fixedType === undefined) cmd.option('--type <string>', 'Only inspect objects of the given type');
  return cmd.action(async (names: string[], flags: InspectFlags) => {
    await runInspect(ctx, names, fixedType ?? parseType(flags.type), flags);
  });
}
