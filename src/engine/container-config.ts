import type { ContainerConfig, ImageRuntimeConfig } from '../api/index.js';
import { InvalidArgumentError } from '../api/index.js';
import { mergeHealthcheck } from './health.js';

function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq === -1 ? entry : entry.slice(0, eq);
}

/** Image env first, then the container's; a later key replaces an earlier one in place. */
export function mergeEnv(imageEnv: readonly string[], containerEnv: readonly string[]): string[] {
  const merged = new Map<string, string>();
  for (const entry of [...imageEnv, ...containerEnv]) merged.set(envKey(entry), entry);
  return [...merged.values()];
}

/**
 * The effective config of a new container: the request over the image's config, with
 * Docker's rule that overriding the entrypoint also drops the image's CMD.
 */
export function mergeImageConfig(request: ContainerConfig, image: ImageRuntimeConfig): ContainerConfig {
  const entrypointOverridden = request.Entrypoint !== undefined && request.Entrypoint !== null;
  // `--entrypoint ""` arrives as [""]: it clears the image's entrypoint.
  const requested =
    request.Entrypoint?.length === 1 && request.Entrypoint[0] === '' ? [] : request.Entrypoint;
  const entrypoint = entrypointOverridden ? requested : (image.Entrypoint ?? null);
  const cmd = nonEmpty(request.Cmd) ?? (entrypointOverridden ? null : (image.Cmd ?? null));
  const stopSignal = request.StopSignal || image.StopSignal;
  const healthcheck = mergeHealthcheck(request.Healthcheck, image.Healthcheck);
  return {
    ...request,
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
    ...(stopSignal ? { StopSignal: stopSignal } : {}),
    Hostname: request.Hostname ?? '',
    Domainname: request.Domainname ?? '',
    User: request.User || image.User || '',
    Env: mergeEnv(image.Env ?? [], request.Env ?? []),
    Cmd: cmd,
    Entrypoint: nonEmpty(entrypoint) ?? null,
    WorkingDir: request.WorkingDir || image.WorkingDir || '',
    Labels: { ...(image.Labels ?? {}), ...(request.Labels ?? {}) },
    ExposedPorts: { ...(image.ExposedPorts ?? {}), ...(request.ExposedPorts ?? {}) },
    Volumes: { ...(image.Volumes ?? {}), ...(request.Volumes ?? {}) },
    Tty: request.Tty ?? false,
    OpenStdin: request.OpenStdin ?? false,
    StdinOnce: request.StdinOnce ?? false,
    AttachStdin: request.AttachStdin ?? false,
    AttachStdout: request.AttachStdout ?? false,
    AttachStderr: request.AttachStderr ?? false,
  };
}

function nonEmpty(list: readonly string[] | null | undefined): string[] | undefined {
  return list && list.length > 0 ? [...list] : undefined;
}

/** The process to run: entrypoint then cmd. */
export function commandLine(config: ContainerConfig): { path: string; args: string[] } {
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  const [path, ...args] = argv;
  if (path === undefined) throw new InvalidArgumentError('no command specified');
  return { path, args };
}
