import type { Command } from 'commander';
import type { ContainerCreateRequest, RestartPolicy } from '../api/index.js';
import { UsageError } from './errors.js';
import { addMountFlags, applyMountFlags, type MountFlags } from './mount-flags.js';
import { addNetworkFlags, applyNetworkFlags, type NetworkFlags } from './network-flags.js';
import { collect } from './options.js';
import { addResourceFlags, applyResourceFlags, healthcheckOf, type ResourceFlags } from './resource-flags.js';

/** The flags `run` and `create` share, as commander parses them. */
export interface RunFlags extends ResourceFlags, MountFlags, NetworkFlags {
  detach?: boolean;
  rm?: boolean;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  label?: string[];
  interactive?: boolean;
  tty?: boolean;
  restart?: string;
}

export interface CreateRequest {
  name: string | undefined;
  body: ContainerCreateRequest;
}

export interface FlagEnvironment {
  env: Record<string, string | undefined>;
  readFile(path: string): string;
}

export function addRunFlags(cmd: Command, opts: { withDetach: boolean }): Command {
  if (opts.withDetach) cmd.option('-d, --detach', 'Run container in background and print container ID');
  return addNetworkFlags(addMountFlags(addResourceFlags(cmd)))
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--name <string>', 'Assign a name to the container')
    .option('-e, --env <list>', 'Set environment variables', collect)
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container')
    .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-h, --hostname <string>', 'Container host name')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .helpOption('--help', 'Print usage');
}

/**
 * `-e NAME=value` as given; a bare `-e NAME` takes NAME's value from the CLI's own
 * environment and is dropped when unset, as docker does.
 */
function resolveEnvEntry(entry: string, env: Record<string, string | undefined>): string | undefined {
  if (entry.includes('=')) {
    if (entry.startsWith('=')) throw new UsageError(`invalid environment variable: ${entry}`);
    return entry;
  }
  const value = env[entry];
  return value === undefined ? undefined : `${entry}=${value}`;
}

/** Docker's env-file syntax: one entry a line, `#` comments, blank lines skipped. */
export function parseEnvFile(content: string, path: string): string[] {
  const entries: string[] = [];
  for (const raw of content.split(/\r?\n/)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const name = line.split('=', 1)[0]!;
    if (/\s/.test(name)) throw new UsageError(`variable '${name}' contains whitespaces`);
    if (name === '') throw new UsageError(`no variable name on line '${line}' in ${path}`);
    entries.push(line);
  }
  return entries;
}

export function parseRestartPolicy(value: string): RestartPolicy {
  const [name = '', count] = value.split(':');
  switch (name) {
    case '':
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (count !== undefined)
        throw new UsageError(
          `invalid restart policy format: maximum retry count can only be used with 'on-failure'`,
        );
      return { Name: name === '' ? 'no' : name };
    case 'on-failure': {
      if (count === undefined) return { Name: 'on-failure' };
      const n = Number(count);
      if (!Number.isInteger(n) || n < 0)
        throw new UsageError(`invalid restart policy format: maximum retry count must be an integer`);
      return { Name: 'on-failure', MaximumRetryCount: n };
    }
    default:
      throw new UsageError(`invalid restart policy format: unknown policy '${name}'`);
  }
}

function parseLabels(entries: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid label '${entry}': empty name`);
    if (eq < 0) labels[entry] = '';
    else labels[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return labels;
}

/** The `POST /containers/create` that `run`/`create` flags ask for. */
export function buildCreateRequest(
  image: string,
  command: string[],
  flags: RunFlags,
  context: FlagEnvironment,
): CreateRequest {
  const restart = parseRestartPolicy(flags.restart ?? 'no');
  if (flags.rm && restart.Name !== 'no') throw new UsageError('Conflicting options: --restart and --rm');

  const fromFiles = (flags.envFile ?? []).flatMap((path) => parseEnvFile(context.readFile(path), path));
  const env = [...fromFiles, ...(flags.env ?? [])]
    .map((entry) => resolveEnvEntry(entry, context.env))
    .filter((entry): entry is string => entry !== undefined);

  const attached = !flags.detach;
  const body: ContainerCreateRequest = {
    Image: image,
    AttachStdin: attached && !!flags.interactive,
    AttachStdout: attached,
    AttachStderr: attached,
    OpenStdin: !!flags.interactive,
    StdinOnce: attached && !!flags.interactive,
    Tty: !!flags.tty,
    Env: env,
    Labels: parseLabels(flags.label ?? []),
    HostConfig: { AutoRemove: !!flags.rm, RestartPolicy: restart },
  };
  if (command.length > 0) body.Cmd = command;
  if (flags.entrypoint !== undefined) {
    // `--entrypoint ""` clears the image's entrypoint; docker sends [""] to say so.
    body.Entrypoint = [flags.entrypoint];
  }
  if (flags.workdir !== undefined) body.WorkingDir = flags.workdir;
  if (flags.user !== undefined) body.User = flags.user;
  if (flags.hostname !== undefined) body.Hostname = flags.hostname;
  const network = applyNetworkFlags(flags);
  body.HostConfig = { ...body.HostConfig, ...network.host };
  if (Object.keys(network.exposedPorts).length > 0) body.ExposedPorts = network.exposedPorts;
  if (Object.keys(network.endpoints).length > 0)
    body.NetworkingConfig = { EndpointsConfig: network.endpoints };
  const mounts = applyMountFlags(flags);
  body.HostConfig = { ...body.HostConfig, ...mounts.host };
  if (Object.keys(mounts.volumes).length > 0) body.Volumes = mounts.volumes;
  const resources = applyResourceFlags(flags);
  body.HostConfig = { ...body.HostConfig, ...resources.host };
  if (resources.stopSignal !== undefined) body.StopSignal = resources.stopSignal;
  if (resources.stopTimeout !== undefined) body.StopTimeout = resources.stopTimeout;
  const healthcheck = healthcheckOf(flags);
  if (healthcheck) body.Healthcheck = healthcheck;
  // Like docker, the CLI reads a seccomp profile file and sends its JSON text.
  const securityOpt = body.HostConfig.SecurityOpt;
  if (Array.isArray(securityOpt)) {
    body.HostConfig.SecurityOpt = securityOpt.map((opt: string) => {
      const match = /^seccomp[=:](.+)$/.exec(opt);
      if (!match?.[1] || match[1] === 'unconfined' || match[1] === 'builtin') return opt;
      return `seccomp=${context.readFile(match[1])}`;
    });
  }
  return { name: flags.name, body };
}

/** The name docker says it could not find: a bare name means its `latest` tag. */
export function imageWithDefaultTag(image: string): string {
  if (image.includes('@')) return image;
  return splitTag(image) ? image : `${image}:latest`;
}

function splitTag(image: string): boolean {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/');
}
