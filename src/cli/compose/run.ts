/** `compose exec`, `run`, `cp`, `build`, `pull`, `push`. */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { attachStartAndWait } from '../attach.js';
import type { CliContext } from '../context.js';
import { StatusError, UsageError } from '../errors.js';
import { collect } from '../options.js';
import { streamAttached } from '../terminal.js';
import {
  converge,
  ensureNetworks,
  ensureVolumes,
  nameOf,
  projectContainers,
  selectServices,
  withDependencies,
} from './backend.js';
import { buildImage } from './build.js';
import { imageOf, LABEL, planContainer } from './convert.js';
import { ensureImages, pullImage } from './images.js';
import { ProjectError, type ServiceConfig } from './model.js';
import { shellSplit } from './normalize.js';
import { loadFromFlags, progressOf, projectNameOnly } from './project-options.js';

interface ExecFlags {
  detach?: boolean;
  tty: boolean;
  env?: string[];
  user?: string;
  workdir?: string;
  index: string;
  privileged?: boolean;
}

export function defineExec(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Execute a command in a running container')
    .argument('<service>')
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .option('-d, --detach', 'Detached mode: Run command in the background')
    .option('-T, --no-TTY', 'Disable pseudo-TTY allocation. By default `compose exec` allocates a TTY.')
    .option('-e, --env <env>', 'Set environment variables', collect)
    .option('-u, --user <user>', 'Run the command as this user')
    .option('-w, --workdir <dir>', 'Path to workdir directory for this command')
    .option('--index <n>', 'Index of the container if service has multiple replicas', '1')
    .option('--privileged', 'Give extended privileges to the process')
    .action(async (service: string, command: string, args: string[], raw: ExecFlags & { TTY?: boolean }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const client = ctx.client();
      const c = (await projectContainers(client, name, { services: [service], oneoff: false })).find(
        (x) => x.Labels[LABEL.number] === raw.index,
      );
      if (!c) throw new StatusError(1, `service "${service}" is not running`);
      // A TTY by default, as compose's, but only when there is a terminal to give it to.
      const tty = raw.TTY !== false && ctx.io.stdin.isTTY === true && !raw.detach;
      const interactive = !raw.detach;
      const { Id } = await client.exec.create(c.Id, {
        Cmd: [command, ...args],
        Env: raw.env ?? [],
        WorkingDir: raw.workdir ?? '',
        User: raw.user ?? '',
        Privileged: !!raw.privileged,
        Tty: tty,
        AttachStdin: interactive && ctx.io.stdin.isTTY === true,
        AttachStdout: interactive,
        AttachStderr: interactive,
        DetachKeys: '',
      });
      if (raw.detach) {
        await client.exec.startDetached(Id);
        return;
      }
      const attached = await client.exec.startAttached(Id, { tty });
      await streamAttached(ctx, attached, {
        tty,
        stdin: interactive && ctx.io.stdin.isTTY === true,
        resize: (size) => client.exec.resize(Id, size),
      });
      const info = await client.exec.inspect(Id);
      if (info.ExitCode !== null && info.ExitCode !== 0) throw new StatusError(info.ExitCode);
    });
}

interface RunFlags {
  detach?: boolean;
  rm?: boolean;
  env?: string[];
  entrypoint?: string;
  name?: string;
  user?: string;
  workdir?: string;
  deps: boolean;
  TTY?: boolean;
  interactive: boolean;
  servicePorts?: boolean;
  publish?: string[];
  label?: string[];
  build?: boolean;
}

export function defineRun(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Run a one-off command on a service')
    .argument('<service>')
    .argument('[command...]')
    .passThroughOptions()
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('--rm', 'Automatically remove the container when it exits')
    .option('-e, --env <env>', 'Set environment variables', collect)
    .option('--entrypoint <cmd>', 'Override the entrypoint of the image')
    .option('--name <name>', 'Assign a name to the container')
    .option('-u, --user <user>', 'Run as specified username or uid')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .option('--no-deps', "Don't start linked services")
    .option('-T, --no-TTY', 'Disable pseudo-TTY allocation (default: auto-detected)')
    .option('-i, --interactive', 'Keep STDIN open even if not attached', true)
    .option('--service-ports', "Run command with all service's ports enabled and mapped to the host")
    .option('-l, --label <label>', 'Add or override a label', collect)
    .option('--build', 'Build image before starting container')
    .action(async (serviceName: string, command: string[], flags: RunFlags) => {
      const project = loadFromFlags(ctx, cmd);
      selectServices(project, [serviceName]);
      const client = ctx.client();
      const progress = progressOf(ctx, cmd);
      const service = project.services[serviceName] as ServiceConfig;
      const deps = withDependencies(project, [serviceName]).filter((n) => n !== serviceName);
      const needed = [service, ...deps.map((d) => project.services[d] as ServiceConfig)];
      await ensureImages(ctx, cmd, project, needed, { build: !!flags.build, noBuild: false });
      await ensureNetworks(client, project, needed, progress);
      await ensureVolumes(client, project, needed, progress);
      if (flags.deps && deps.length > 0)
        await converge(client, project, deps, { scale: {}, noRecreate: true }, progress);
      const tty = flags.TTY !== false && ctx.io.stdin.isTTY === true && !flags.detach;
      const interactive = flags.interactive && ctx.io.stdin.isTTY === true && !flags.detach;
      const name = flags.name ?? `${project.name}-${serviceName}-run-${randomBytes(6).toString('hex')}`;
      const env = Object.fromEntries(
        (flags.env ?? []).map((e) => {
          const eq = e.indexOf('=');
          return eq < 0 ? [e, ctx.io.env[e] ?? null] : [e.slice(0, eq), e.slice(eq + 1)];
        }),
      );
      const runService: ServiceConfig = {
        ...service,
        environment: { ...(service.environment ?? {}), ...env },
        ...(command.length > 0 ? { command } : {}),
        ...(flags.entrypoint !== undefined ? { entrypoint: shellSplit(flags.entrypoint) } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.workdir !== undefined ? { working_dir: flags.workdir } : {}),
        labels: {
          ...(service.labels ?? {}),
          ...Object.fromEntries(
            (flags.label ?? []).map((l) => [l.split('=')[0], l.split('=').slice(1).join('=')]),
          ),
        },
      };
      delete runService.container_name;
      if (flags.detach && flags.rm) throw new UsageError('--rm and --detach are incompatible');
      const plan = planContainer(project, runService, 1, {
        oneoff: true,
        name,
        publishPorts: !!flags.servicePorts,
        overrides: {
          Tty: tty,
          OpenStdin: interactive,
          AttachStdin: interactive,
          AttachStdout: !flags.detach,
          AttachStderr: !flags.detach,
          StdinOnce: interactive,
        },
      });
      plan.body.HostConfig = {
        ...plan.body.HostConfig,
        AutoRemove: !!flags.rm,
        RestartPolicy: { Name: 'no' },
      };
      const { Id } = await client.containers.create(plan.body, { name });
      for (const extra of plan.extraNetworks)
        await client.networks.connect(extra.network, Id, { Aliases: extra.aliases });
      if (flags.detach) {
        await client.containers.start(Id);
        ctx.out(`${name}\n`);
        return;
      }
      const status = await attachStartAndWait(ctx, Id, {
        tty,
        interactive,
        autoRemove: !!flags.rm,
        onStartError: (e) => new StatusError(1, e instanceof Error ? e.message : String(e)),
      });
      if (status !== 0) throw new StatusError(status);
    });
}

export function defineCp(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Copy files/folders between a service container and the local filesystem')
    .argument('<source>')
    .argument('<dest>')
    .option('--index <n>', 'Index of the container if service has multiple replicas', '1')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .action(async (source: string, dest: string, flags: { index: string }) => {
      const { name } = projectNameOnly(ctx, cmd);
      const resolveArg = async (arg: string): Promise<string> => {
        const colon = arg.indexOf(':');
        if (colon <= 0 || arg.startsWith('/') || arg.startsWith('.')) return arg;
        const service = arg.slice(0, colon);
        const c = (
          await projectContainers(ctx.client(), name, { all: true, services: [service], oneoff: false })
        ).find((x) => x.Labels[LABEL.number] === flags.index);
        if (!c) throw new ProjectError(`no container found for service "${service}"`);
        return `${nameOf(c)}:${arg.slice(colon + 1)}`;
      };
      // The container-level `cp` does the copying; compose only names the container.
      const { runCli } = await import('../main.js');
      const status = await runCli(['cp', await resolveArg(source), await resolveArg(dest)], ctx.io);
      if (status !== 0) throw new StatusError(status);
    });
}

export function defineBuild(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Build or rebuild services')
    .argument('[service...]')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('-q, --quiet', "Don't print anything to STDOUT")
    .option('--build-arg <arg>', 'Set build-time variables for services', collect)
    .action(
      async (
        services: string[],
        flags: { cache: boolean; pull?: boolean; quiet?: boolean; buildArg?: string[] },
      ) => {
        const project = loadFromFlags(ctx, cmd);
        const progress = progressOf(ctx, cmd);
        for (const name of selectServices(project, services)) {
          const service = project.services[name] as ServiceConfig;
          if (service.build === undefined) continue;
          const args = Object.fromEntries(
            (flags.buildArg ?? []).map((a) => [a.split('=')[0], a.split('=').slice(1).join('=')]),
          );
          await buildImage(
            ctx,
            progress,
            imageOf(project, service),
            { ...service.build, args: { ...(service.build.args ?? {}), ...args } },
            {
              noCache: !flags.cache,
              ...(flags.pull ? { pull: true } : {}),
              ...(flags.quiet ? { quiet: true } : {}),
            },
          );
        }
      },
    );
}

export function definePull(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Pull service images')
    .argument('[service...]')
    .option('--ignore-pull-failures', 'Pull what it can and ignores images with pull failures')
    .option('-q, --quiet', 'Pull without printing progress information')
    .action(async (services: string[], flags: { ignorePullFailures?: boolean }) => {
      const project = loadFromFlags(ctx, cmd);
      for (const name of selectServices(project, services)) {
        const service = project.services[name] as ServiceConfig;
        if (service.image === undefined) {
          progressOf(ctx, cmd)('', name, 'Skipped - No image to be pulled');
          continue;
        }
        try {
          await pullImage(ctx, cmd, service, service.image);
        } catch (e) {
          if (!flags.ignorePullFailures) throw e;
          ctx.err(`${e instanceof Error ? e.message : String(e)}\n`);
        }
      }
    });
}

export function definePush(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Push service images')
    .argument('[service...]')
    .option('--ignore-push-failures', 'Push what it can and ignores images with push failures')
    .action(async (services: string[], flags: { ignorePushFailures?: boolean }) => {
      const project = loadFromFlags(ctx, cmd);
      const progress = progressOf(ctx, cmd);
      for (const name of selectServices(project, services)) {
        const service = project.services[name] as ServiceConfig;
        // Compose pushes only what it builds: a service with just an image is someone else's.
        if (service.image === undefined || service.build === undefined) {
          progress('', name, 'Skipped');
          continue;
        }
        progress('Image', service.image, 'Pushing');
        try {
          for await (const m of await ctx.client().registry.push(service.image)) {
            const error = m.error ?? m.errorDetail?.message;
            if (error !== undefined) throw new ProjectError(error);
          }
        } catch (e) {
          if (!flags.ignorePushFailures) throw e;
          ctx.err(`Pushing ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
          continue;
        }
        progress('Image', service.image, 'Pushed');
      }
    });
}
