/** `compose ps`, `logs`, `top`, `port`, `images`, `ls`, `events`, `config`, `version`. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ContainerSummary } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { StatusError, UsageError } from '../errors.js';
import { alignColumns, humanSize, shortId, timeAgo } from '../format.js';
import { parseFilters } from '../options.js';
import { formatPorts } from '../ps.js';
import { nameOf, projectContainers, selectServices, serviceOf } from './backend.js';
import { COMPOSE_VERSION, LABEL } from './convert.js';
import { LogPrinter, logPrefixName } from './log-printer.js';
import type { Project } from './model.js';
import { loadFromFlags, projectNameOnly, useColour } from './project-options.js';

function commandOf(c: ContainerSummary): string {
  return JSON.stringify(c.Command.length > 20 ? `${c.Command.slice(0, 19)}…` : c.Command);
}

function table(ctx: CliContext, header: string[], rows: string[][]): void {
  ctx.out(`${alignColumns([header, ...rows].map((r) => r.join('\t')).join('\n'))}\n`);
}

export function definePs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List containers')
    .argument('[service...]')
    .option('-a, --all', 'Show all stopped containers (including those created by the run command)')
    .option('-q, --quiet', 'Only display IDs')
    .option('--services', 'Display services')
    .option('--status <status>', 'Filter services by status', (v: string, prev: string[] = []) => [
      ...prev,
      v,
    ])
    .option('--filter <filter>', 'Filter services by a property (status)')
    .option('--format <format>', 'Format the output: table or json', 'table')
    .option('--no-trunc', "Don't truncate output")
    .action(
      async (
        services: string[],
        flags: {
          all?: boolean;
          quiet?: boolean;
          services?: boolean;
          status?: string[];
          filter?: string;
          format: string;
        },
      ) => {
        const { name, project } = projectNameOnly(ctx, cmd);
        if (project) selectServices(project, services);
        const statuses = [
          ...(flags.status ?? []),
          ...(parseFilters(flags.filter ? [flags.filter] : []).status ?? []),
        ];
        let containers = await projectContainers(ctx.client(), name, {
          all: !!flags.all || statuses.length > 0,
          ...(flags.all ? {} : { oneoff: false }),
          services,
        });
        if (statuses.length > 0) containers = containers.filter((c) => statuses.includes(c.State));
        if (flags.quiet) {
          for (const c of containers) ctx.out(`${c.Id}\n`);
          return;
        }
        if (flags.services) {
          for (const s of new Set(containers.map(serviceOf))) ctx.out(`${s}\n`);
          return;
        }
        if (flags.format === 'json') {
          for (const c of containers)
            ctx.out(
              `${JSON.stringify({
                ID: c.Id,
                Name: nameOf(c),
                Image: c.Image,
                Command: c.Command,
                Project: name,
                Service: serviceOf(c),
                Created: c.Created,
                State: c.State,
                Status: c.Status,
                Health:
                  /\((healthy|unhealthy|health: starting)\)/.exec(c.Status)?.[1]?.replace('health: ', '') ??
                  '',
                ExitCode: Number(/Exited \((\d+)\)/.exec(c.Status)?.[1] ?? 0),
                Publishers: c.Ports.map((p) => ({
                  URL: p.IP ?? '',
                  TargetPort: p.PrivatePort,
                  PublishedPort: p.PublicPort ?? 0,
                  Protocol: p.Type,
                })),
                Labels: Object.entries(c.Labels)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(','),
              })}\n`,
            );
          return;
        }
        if (flags.format !== 'table') throw new UsageError(`unsupported format ${flags.format}`);
        table(
          ctx,
          ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
          containers.map((c) => [
            nameOf(c),
            c.Image,
            commandOf(c),
            serviceOf(c),
            timeAgo(c.Created, ctx.now()),
            c.Status,
            formatPorts(c.Ports),
          ]),
        );
      },
    );
}

export function defineLogs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('View output from containers')
    .argument('[service...]')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <n>', 'Number of lines to show from the end of the logs for each container', 'all')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--since <since>', 'Show logs since timestamp')
    .option('--until <until>', 'Show logs before a timestamp')
    .option('--no-color', 'Produce monochrome output')
    .option('--no-log-prefix', "Don't print prefix in logs")
    .option('--index <n>', 'index of the container if service has multiple replicas')
    .action(
      async (
        services: string[],
        flags: {
          follow?: boolean;
          tail: string;
          timestamps?: boolean;
          since?: string;
          until?: string;
          color: boolean;
          logPrefix: boolean;
          index?: string;
        },
      ) => {
        const { name, project } = projectNameOnly(ctx, cmd);
        if (project) selectServices(project, services);
        const client = ctx.client();
        let containers = await projectContainers(client, name, { all: true, services });
        if (flags.index !== undefined)
          containers = containers.filter((c) => c.Labels[LABEL.number] === flags.index);
        const printer = new LogPrinter(ctx, {
          colour: flags.color && useColour(ctx, cmd),
          prefix: flags.logPrefix,
        });
        printer.register(containers.map(logPrefixName));
        await Promise.all(
          containers.map((c) =>
            printer.follow(client, c, {
              follow: !!flags.follow,
              tail: flags.tail,
              ...(flags.timestamps ? { timestamps: true } : {}),
              ...(flags.since !== undefined ? { since: flags.since } : {}),
              ...(flags.until !== undefined ? { until: flags.until } : {}),
            }),
          ),
        );
      },
    );
}

export function defineTop(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Display the running processes')
    .argument('[service...]')
    .action(async (services: string[]) => {
      const { name } = projectNameOnly(ctx, cmd);
      const client = ctx.client();
      for (const c of await projectContainers(client, name, { services, oneoff: false })) {
        const top = await client.containerOps.top(c.Id);
        ctx.out(`${nameOf(c)}\n`);
        table(ctx, top.Titles, top.Processes ?? []);
        ctx.out('\n');
      }
    });
}

export function definePort(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Print the public port for a port binding')
    .argument('<service>')
    .argument('<private_port>')
    .option('--protocol <proto>', 'tcp or udp', 'tcp')
    .option('--index <n>', 'Index of the container if service has multiple replicas', '1')
    .action(async (service: string, port: string, flags: { protocol: string; index: string }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const containers = await projectContainers(ctx.client(), name, { services: [service], oneoff: false });
      const c = containers.find((x) => x.Labels[LABEL.number] === flags.index);
      if (!c) throw new StatusError(1, `service "${service}" is not running container #${flags.index}`);
      const binding = c.Ports.find(
        (p) => String(p.PrivatePort) === port && p.Type === flags.protocol && p.PublicPort !== undefined,
      );
      if (!binding) throw new StatusError(1, `no port ${port}/${flags.protocol} for container ${nameOf(c)}`);
      ctx.out(`${binding.IP || '0.0.0.0'}:${binding.PublicPort}\n`);
    });
}

export function defineImages(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List images used by the created containers')
    .argument('[service...]')
    .option('-q, --quiet', 'Only display IDs')
    .option('--format <format>', 'Format the output: table or json', 'table')
    .action(async (services: string[], flags: { quiet?: boolean; format: string }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const client = ctx.client();
      const rows: string[][] = [];
      const json: object[] = [];
      for (const c of await projectContainers(client, name, { all: true, services })) {
        const image = await client.images.inspect(c.ImageID || c.Image);
        const [repo = '<none>', tag = '<none>'] = (image.RepoTags?.[0] ?? c.Image).split(/:(?=[^:/]+$)/);
        if (flags.quiet) ctx.out(`${image.Id}\n`);
        rows.push([nameOf(c), repo, tag, shortId(image.Id), humanSize(image.Size)]);
        json.push({ ContainerName: nameOf(c), Repository: repo, Tag: tag, ID: image.Id, Size: image.Size });
      }
      if (flags.quiet) return;
      if (flags.format === 'json') ctx.out(`${JSON.stringify(json)}\n`);
      else table(ctx, ['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows);
    });
}

export function defineLs(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('List running compose projects')
    .option('-a, --all', 'Show all stopped Compose projects')
    .option('-q, --quiet', 'Only display project names')
    .option('--format <format>', 'Format the output: table or json', 'table')
    .action(async (flags: { all?: boolean; quiet?: boolean; format: string }) => {
      const list = await ctx.client().containers.list({ all: true, filters: { label: [LABEL.project] } });
      const projects = new Map<string, { states: Record<string, number>; files: string }>();
      for (const c of list) {
        const p = c.Labels[LABEL.project] as string;
        const entry = projects.get(p) ?? { states: {}, files: c.Labels[LABEL.configFiles] ?? '' };
        entry.states[c.State] = (entry.states[c.State] ?? 0) + 1;
        projects.set(p, entry);
      }
      const rows = [...projects.entries()]
        .filter(([, e]) => flags.all || (e.states.running ?? 0) > 0)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([p, e]) => ({
          Name: p,
          Status: Object.entries(e.states)
            .sort()
            .map(([s, n]) => `${s}(${n})`)
            .join(', '),
          ConfigFiles: e.files,
        }));
      if (flags.quiet) for (const r of rows) ctx.out(`${r.Name}\n`);
      else if (flags.format === 'json') ctx.out(`${JSON.stringify(rows)}\n`);
      else
        table(
          ctx,
          ['NAME', 'STATUS', 'CONFIG FILES'],
          rows.map((r) => [r.Name, r.Status, r.ConfigFiles]),
        );
    });
}

export function defineEvents(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Receive real time events from containers')
    .argument('[service...]')
    .option('--json', 'Output events as a stream of json objects')
    .action(async (services: string[], flags: { json?: boolean }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const wanted = new Set(services);
      for await (const e of ctx
        .client()
        .events({ filters: { type: ['container'], label: [`${LABEL.project}=${name}`] } })) {
        const attrs = e.Actor.Attributes;
        const service = attrs[LABEL.service] ?? '';
        if (wanted.size > 0 && !wanted.has(service)) continue;
        const time = new Date(Math.floor(e.timeNano / 1e6)).toISOString();
        const others = Object.entries(attrs)
          .filter(([k]) => !k.startsWith('com.docker.compose.'))
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
        if (flags.json)
          ctx.out(
            `${JSON.stringify({ time, type: 'container', action: e.Action, id: e.Actor.ID, service, attributes: attrs })}\n`,
          );
        else ctx.out(`${time} container ${e.Action} ${e.Actor.ID} (${others})\n`);
      }
    });
}

/** The model as `compose config` prints it: name, then sorted sections. */
export function configDocument(project: Project): Record<string, unknown> {
  const services = Object.fromEntries(
    Object.entries(project.services)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, { name: _, ...rest }]) => [key, rest]),
  );
  const doc: Record<string, unknown> = { name: project.name, services };
  for (const section of ['networks', 'volumes', 'secrets', 'configs'] as const)
    if (Object.keys(project[section]).length > 0) doc[section] = project[section];
  return doc;
}

export function defineConfig(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Parse, resolve and render compose file in canonical format')
    .argument('[service...]')
    .option('--format <format>', 'Format the output. Values: [yaml | json]', 'yaml')
    .option('-q, --quiet', "Only validate the configuration, don't print anything")
    .option('--services', 'Print the service names, one per line')
    .option('--volumes', 'Print the volume names, one per line')
    .option('--networks', 'Print the network names, one per line')
    .option('--profiles', 'Print the profile names, one per line')
    .option('--images', 'Print the image names, one per line')
    .option('-o, --output <path>', 'Save to file (default to stdout)')
    .action(async (services: string[], flags: Record<string, string | boolean | undefined>) => {
      const project = loadFromFlags(ctx, cmd);
      if (services.length > 0) {
        selectServices(project, services);
        for (const n of Object.keys(project.services)) if (!services.includes(n)) delete project.services[n];
      }
      if (flags.quiet) return;
      const lines = (items: string[]) => {
        for (const i of items) ctx.out(`${i}\n`);
      };
      if (flags.services) return lines(Object.keys(project.services));
      if (flags.volumes) return lines(Object.keys(project.volumes));
      if (flags.networks) return lines(Object.keys(project.networks));
      if (flags.profiles)
        return lines(
          [
            ...new Set(
              [...Object.values(project.services), ...Object.values(project.disabledServices)].flatMap(
                (s) => s.profiles ?? [],
              ),
            ),
          ].sort(),
        );
      if (flags.images)
        return lines(Object.values(project.services).map((s) => s.image ?? `${project.name}-${s.name}`));
      const doc = configDocument(project);
      const text =
        flags.format === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : stringify(doc, { lineWidth: 0 });
      if (typeof flags.output === 'string') {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(flags.output, text);
      } else ctx.out(text);
    });
}

export function defineVersion(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Show the Docker Compose version information')
    .option('--short', "Shows only Compose's version number")
    .option('-f, --format <format>', 'Format the output. Values: [pretty | json]', 'pretty')
    .action((flags: { short?: boolean; format: string }) => {
      if (flags.short) ctx.out(`${COMPOSE_VERSION}\n`);
      else if (flags.format === 'json') ctx.out(`${JSON.stringify({ version: `v${COMPOSE_VERSION}` })}\n`);
      else ctx.out(`Docker Compose version v${COMPOSE_VERSION} (berth)\n`);
    });
}
