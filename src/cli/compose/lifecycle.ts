/** `compose up`, `down`, `create`, and the per-container verbs (start, stop, kill, rm, ...). */
import type { Command } from 'commander';
import type { ContainerSummary } from '../../api/index.js';
import { NotFoundError } from '../../api/index.js';
import type { CliContext } from '../context.js';
import { StatusError, UsageError } from '../errors.js';
import { collect, parseInteger } from '../options.js';
import {
  checkPortClashes,
  converge,
  ensureNetworks,
  ensureVolumes,
  isOrphan,
  nameOf,
  projectContainers,
  replicasOf,
  selectServices,
  serviceOf,
  withDependencies,
} from './backend.js';
import { imageOf, LABEL } from './convert.js';
import { ensureImages } from './images.js';
import { LogPrinter, logPrefixName } from './log-printer.js';
import type { Project, ServiceConfig } from './model.js';
import { loadFromFlags, progressOf, projectNameOnly, useColour } from './project-options.js';

function parseScale(values: string[] | undefined): Record<string, number> {
  const scale: Record<string, number> = {};
  for (const v of values ?? []) {
    const [name, n] = v.split('=');
    if (name === undefined || n === undefined || !/^\d+$/.test(n))
      throw new UsageError(`invalid --scale option ${JSON.stringify(v)}: expected SERVICE=NUM`);
    scale[name] = Number(n);
  }
  return scale;
}

interface UpFlags {
  detach?: boolean;
  build?: boolean;
  noBuild?: boolean;
  forceRecreate?: boolean;
  noRecreate?: boolean;
  deps: boolean;
  scale?: string[];
  wait?: boolean;
  waitTimeout?: string;
  removeOrphans?: boolean;
  abortOnContainerExit?: boolean;
  exitCodeFrom?: string;
  timeout?: string;
  noColor?: boolean;
  noLogPrefix?: boolean;
  noStart?: boolean;
  pull?: string;
}

async function handleOrphans(
  ctx: CliContext,
  project: Project,
  remove: boolean,
  progress: ReturnType<typeof progressOf>,
): Promise<void> {
  const orphans = (await projectContainers(ctx.client(), project.name, { all: true, oneoff: false })).filter(
    (c) => isOrphan(project, c),
  );
  if (orphans.length === 0) return;
  if (!remove) {
    ctx.err(
      `WARN[0000] Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`,
    );
    return;
  }
  await Promise.all(
    orphans.map(async (c) => {
      progress('Container', nameOf(c), 'Removing');
      await ctx.client().containers.remove(c.Id, { force: true });
      progress('Container', nameOf(c), 'Removed');
    }),
  );
}

/** Creates what `up`/`create` need and converges the services; returns the selected services. */
async function prepare(
  ctx: CliContext,
  cmd: Command,
  services: string[],
  flags: UpFlags,
): Promise<{ project: Project; names: string[] }> {
  const project = loadFromFlags(ctx, cmd);
  const client = ctx.client();
  const progress = progressOf(ctx, cmd);
  const names = withDependencies(project, selectServices(project, services), !flags.deps);
  const scale = parseScale(flags.scale);
  for (const s of Object.keys(scale)) if (!project.services[s]) throw new UsageError(`no such service: ${s}`);
  if (flags.abortOnContainerExit && flags.detach)
    throw new UsageError('--abort-on-container-exit and --detach are incompatible');
  const selected = names.map((n) => project.services[n] as ServiceConfig);
  const replicas = Object.fromEntries(selected.map((s) => [s.name, replicasOf(s, scale)]));
  await checkPortClashes(client, project, selected, replicas);
  await ensureImages(ctx, cmd, project, selected, {
    build: !!flags.build,
    noBuild: !!flags.noBuild,
    pull: flags.pull,
  });
  await ensureNetworks(client, project, selected, progress);
  await ensureVolumes(client, project, selected, progress);
  await handleOrphans(ctx, project, !!flags.removeOrphans, progress);
  await converge(
    client,
    project,
    names,
    {
      scale,
      ...(flags.forceRecreate ? { forceRecreate: true } : {}),
      ...(flags.noRecreate ? { noRecreate: true } : {}),
      ...(flags.noStart ? { noStart: true } : {}),
      ...(flags.timeout !== undefined ? { timeoutSeconds: parseInteger(flags.timeout) } : {}),
    },
    progress,
  );
  return { project, names };
}

async function waitRunningOrHealthy(
  ctx: CliContext,
  project: Project,
  names: string[],
  timeoutMs: number | undefined,
): Promise<void> {
  const client = ctx.client();
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  for (const c of await projectContainers(client, project.name, {
    all: true,
    oneoff: false,
    services: names,
  })) {
    for (;;) {
      const info = await client.containers.inspect(c.Id);
      const health = (info.State.Health as { Status?: string } | undefined)?.Status;
      if (health === 'unhealthy') throw new StatusError(1, `container ${nameOf(c)} is unhealthy`);
      if (info.State.Running && (health === undefined || health === 'healthy')) break;
      if (!info.State.Running && info.State.Status === 'exited')
        throw new StatusError(1, `container ${nameOf(c)} exited (${info.State.ExitCode})`);
      if (Date.now() > deadline) throw new StatusError(1, `timeout waiting for ${nameOf(c)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Follows the logs of every container until all have stopped (or one has, with --abort-on-container-exit). */
async function attachLogs(
  ctx: CliContext,
  cmd: Command,
  project: Project,
  names: string[],
  flags: UpFlags,
): Promise<number> {
  const client = ctx.client();
  const containers = await projectContainers(client, project.name, {
    all: true,
    oneoff: false,
    services: names,
  });
  const printer = new LogPrinter(ctx, {
    colour: !flags.noColor && useColour(ctx, cmd),
    prefix: !flags.noLogPrefix,
  });
  printer.register(containers.map(logPrefixName));
  ctx.out(`Attaching to ${containers.map(nameOf).join(', ')}\n`);
  const abort = new AbortController();
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    ctx.err('Gracefully stopping... (press Ctrl+C again to force)\n');
    await Promise.all(containers.map((c) => client.containers.stop(c.Id).catch(() => undefined)));
  };
  const onSignal = () => void stopAll();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let status = 0;
  let decided = false;
  try {
    await Promise.all(
      containers.map(async (c) => {
        await printer.follow(client, c, { follow: true, signal: abort.signal });
        const exit = await client.containers
          .wait(c.Id, { condition: 'not-running' })
          .catch(() => ({ StatusCode: 0 }));
        if (!stopping) printer.status(logPrefixName(c), `exited with code ${exit.StatusCode}`);
        const decides =
          flags.exitCodeFrom === undefined ? flags.abortOnContainerExit : serviceOf(c) === flags.exitCodeFrom;
        if (decides && !decided) {
          decided = true;
          status = exit.StatusCode;
        }
        if (flags.abortOnContainerExit && !stopping) {
          ctx.out(`Aborting on container exit...\n`);
          await stopAll();
        }
      }),
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return status;
}

export function defineUp(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Create and start containers')
    .argument('[service...]')
    .option('-d, --detach', 'Detached mode: Run containers in the background')
    .option('--build', 'Build images before starting containers')
    .option('--no-build', "Don't build an image, even if it's policy")
    .option('--force-recreate', "Recreate containers even if their configuration and image haven't changed")
    .option('--no-recreate', "If containers already exist, don't recreate them")
    .option('--no-deps', "Don't start linked services")
    .option('--scale <SERVICE=NUM>', 'Scale SERVICE to NUM instances', collect)
    .option('--wait', 'Wait for services to be running|healthy. Implies detached mode.')
    .option(
      '--wait-timeout <seconds>',
      'Maximum duration in seconds to wait for the project to be running|healthy',
    )
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .option('--abort-on-container-exit', 'Stops all containers if any container was stopped')
    .option('--exit-code-from <service>', 'Return the exit code of the selected service container')
    .option('-t, --timeout <seconds>', 'Use this timeout in seconds for container shutdown')
    .option('--no-color', 'Produce monochrome output')
    .option('--no-log-prefix', "Don't print prefix in logs")
    .option('--no-start', "Don't start the services after creating them")
    .option('--pull <policy>', 'Pull image before running ("always"|"missing"|"never")', 'missing')
    .action(
      async (
        services: string[],
        raw: UpFlags & {
          build?: boolean;
          color?: boolean;
          logPrefix?: boolean;
          start?: boolean;
          recreate?: boolean;
        },
      ) => {
        // commander folds --build/--no-build into one boolean; undefined means neither.
        const flags: UpFlags = {
          ...raw,
          build: raw.build === true,
          noBuild: raw.build === false,
          noRecreate: raw.recreate === false,
          noColor: raw.color === false,
          noLogPrefix: raw.logPrefix === false,
          noStart: raw.start === false,
          abortOnContainerExit: raw.abortOnContainerExit === true || raw.exitCodeFrom !== undefined,
        };
        const { project, names } = await prepare(ctx, cmd, services, flags);
        if (flags.noStart) return;
        if (flags.wait) {
          const timeout =
            flags.waitTimeout === undefined ? undefined : parseInteger(flags.waitTimeout) * 1000;
          await waitRunningOrHealthy(ctx, project, names, timeout);
          return;
        }
        if (flags.detach) return;
        const status = await attachLogs(ctx, cmd, project, names, flags);
        if (status !== 0) throw new StatusError(status);
      },
    );
}

export function defineCreate(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Creates containers for a service')
    .argument('[service...]')
    .option('--build', 'Build images before starting containers')
    .option('--force-recreate', "Recreate containers even if their configuration and image haven't changed")
    .option('--no-recreate', "If containers already exist, don't recreate them")
    .option('--scale <SERVICE=NUM>', 'Scale SERVICE to NUM instances', collect)
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .option('--pull <policy>', 'Pull image before running ("always"|"missing"|"never")', 'missing')
    .action(async (services: string[], raw: UpFlags & { recreate?: boolean }) => {
      await prepare(ctx, cmd, services, {
        ...raw,
        deps: true,
        noRecreate: raw.recreate === false,
        noStart: true,
      });
    });
}

interface DownFlags {
  volumes?: boolean;
  rmi?: string;
  removeOrphans?: boolean;
  timeout?: string;
}

export function defineDown(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Stop and remove containers, networks')
    .argument('[service...]')
    .option(
      '-v, --volumes',
      'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers',
    )
    .option(
      '--rmi <type>',
      'Remove images used by services. "local" remove only images that don\'t have a custom tag ("local"|"all")',
    )
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .option('-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds')
    .action(async (services: string[], flags: DownFlags) => {
      if (flags.rmi !== undefined && flags.rmi !== 'local' && flags.rmi !== 'all')
        throw new UsageError(`invalid value for --rmi: ${flags.rmi}`);
      const { name, project } = projectNameOnly(ctx, cmd);
      const client = ctx.client();
      const progress = progressOf(ctx, cmd);
      const all = await projectContainers(client, name, { all: true, services });
      const doomed = all.filter(
        (c) => !project || flags.removeOrphans || c.Labels[LABEL.oneoff] === 'True' || !isOrphan(project, c),
      );
      if (project && !flags.removeOrphans) {
        const orphans = all.filter((c) => isOrphan(project, c) && c.Labels[LABEL.oneoff] !== 'True');
        if (orphans.length > 0)
          ctx.err(
            `WARN[0000] Found orphan containers ([${orphans.map(nameOf).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`,
          );
      }
      const timeout = flags.timeout === undefined ? {} : { timeoutSeconds: parseInteger(flags.timeout) };
      await Promise.all(
        doomed.map(async (c) => {
          progress('Container', nameOf(c), 'Stopping');
          await client.containers.stop(c.Id, timeout);
          progress('Container', nameOf(c), 'Stopped');
          progress('Container', nameOf(c), 'Removing');
          await client.containers.remove(c.Id, { force: true, volumes: !!flags.volumes });
          progress('Container', nameOf(c), 'Removed');
        }),
      );
      if (services.length > 0) return;
      const networks = await client.networks.list({ filters: { label: [`${LABEL.project}=${name}`] } });
      for (const n of networks) {
        progress('Network', n.Name, 'Removing');
        try {
          await client.networks.remove(n.Id);
          progress('Network', n.Name, 'Removed');
        } catch (e) {
          if (!(e instanceof NotFoundError)) throw e;
        }
      }
      if (flags.volumes) {
        const { Volumes } = await client.volumes.list({ filters: { label: [`${LABEL.project}=${name}`] } });
        for (const v of Volumes ?? []) {
          progress('Volume', v.Name, 'Removing');
          await client.volumes.remove(v.Name, { force: true });
          progress('Volume', v.Name, 'Removed');
        }
      }
      if (flags.rmi !== undefined && project) {
        const images = new Set(
          Object.values(project.services)
            .filter((s) => flags.rmi === 'all' || s.image === undefined)
            .map((s) => imageOf(project, s)),
        );
        for (const image of images) {
          try {
            await client.images.remove(image);
            progress('Image', image, 'Removed');
          } catch (e) {
            if (!(e instanceof NotFoundError)) throw e;
          }
        }
      }
    });
}

type Verb = (
  ctx: CliContext,
  c: ContainerSummary,
  flags: Record<string, string | boolean | undefined>,
) => Promise<void>;

interface VerbSpec {
  description: string;
  /** Past tense for the progress line. */
  doing: string;
  done: string;
  /** Which containers it acts on: running ones or all. */
  all: boolean;
  options?: [string, string, string?][];
  act: Verb;
}

const VERBS: Record<string, VerbSpec> = {
  start: {
    description: 'Start services',
    doing: 'Starting',
    done: 'Started',
    all: true,
    act: (ctx, c) => ctx.client().containers.start(c.Id),
  },
  stop: {
    description: 'Stop services',
    doing: 'Stopping',
    done: 'Stopped',
    all: false,
    options: [['-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds']],
    act: (ctx, c, f) =>
      ctx
        .client()
        .containers.stop(
          c.Id,
          f.timeout === undefined ? {} : { timeoutSeconds: parseInteger(String(f.timeout)) },
        ),
  },
  restart: {
    description: 'Restart service containers',
    doing: 'Restarting',
    done: 'Started',
    all: true,
    options: [['-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds']],
    act: (ctx, c, f) =>
      ctx
        .client()
        .containers.restart(
          c.Id,
          f.timeout === undefined ? {} : { timeoutSeconds: parseInteger(String(f.timeout)) },
        ),
  },
  kill: {
    description: 'Force stop service containers',
    doing: 'Killing',
    done: 'Killed',
    all: false,
    options: [
      ['-s, --signal <signal>', 'SIGNAL to send to the container', 'SIGKILL'],
      ['--remove-orphans', 'Remove containers for services not defined in the Compose file'],
    ],
    act: (ctx, c, f) => ctx.client().containers.kill(c.Id, { signal: String(f.signal ?? 'SIGKILL') }),
  },
  pause: {
    description: 'Pause services',
    doing: 'Pausing',
    done: 'Paused',
    all: false,
    act: (ctx, c) => ctx.client().containers.pause(c.Id),
  },
  unpause: {
    description: 'Unpause services',
    doing: 'Unpausing',
    done: 'Unpaused',
    all: false,
    act: (ctx, c) => ctx.client().containers.unpause(c.Id),
  },
};

export function defineVerb(cmd: Command, ctx: CliContext, verb: string): Command {
  const spec = VERBS[verb] as VerbSpec;
  cmd.description(spec.description).argument('[service...]');
  for (const [flags, description, dflt] of spec.options ?? []) cmd.option(flags, description, dflt);
  return cmd.action(async (services: string[], flags: Record<string, string | boolean | undefined>) => {
    const { name, project } = projectNameOnly(ctx, cmd);
    if (project) selectServices(project, services);
    const progress = progressOf(ctx, cmd);
    const containers = await projectContainers(ctx.client(), name, {
      all: spec.all,
      oneoff: false,
      services,
    });
    await Promise.all(
      containers.map(async (c) => {
        progress('Container', nameOf(c), spec.doing);
        await spec.act(ctx, c, flags);
        progress('Container', nameOf(c), spec.done);
      }),
    );
  });
}

export function defineRm(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Removes stopped service containers')
    .argument('[service...]')
    .option('-f, --force', "Don't ask to confirm removal")
    .option('-s, --stop', 'Stop the containers, if required, before removing')
    .option('-v, --volumes', 'Remove any anonymous volumes attached to containers')
    .action(async (services: string[], flags: { force?: boolean; stop?: boolean; volumes?: boolean }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const client = ctx.client();
      const progress = progressOf(ctx, cmd);
      const containers = await projectContainers(client, name, { all: true, oneoff: false, services });
      if (flags.stop)
        for (const c of containers.filter((c) => c.State === 'running')) {
          progress('Container', nameOf(c), 'Stopping');
          await client.containers.stop(c.Id);
          progress('Container', nameOf(c), 'Stopped');
        }
      const stopped = (await projectContainers(client, name, { all: true, oneoff: false, services })).filter(
        (c) => c.State !== 'running' && c.State !== 'paused' && c.State !== 'restarting',
      );
      if (stopped.length === 0) {
        ctx.err('No stopped containers\n');
        return;
      }
      if (!flags.force) ctx.err(`Going to remove ${stopped.map(nameOf).join(', ')}\n`);
      for (const c of stopped) {
        progress('Container', nameOf(c), 'Removing');
        await client.containers.remove(c.Id, { volumes: !!flags.volumes });
        progress('Container', nameOf(c), 'Removed');
      }
    });
}

export function containerServiceName(c: ContainerSummary): string {
  return serviceOf(c);
}
