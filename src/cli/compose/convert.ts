/**
 * A service of the model -> the `POST /containers/create` body for one of its
 * containers, with Docker Compose's labels so either tool recognises the other's objects.
 */
import { createHash } from 'node:crypto';
import type { ContainerCreateRequest, HostConfig } from '../../api/index.js';
import { parseBytes, parseCpus, parseDurationNs } from '../resource-flags.js';
import type { Project, ServiceConfig } from './model.js';

/** The Compose version our labels claim; `docker compose` reads it only for display. */
export const COMPOSE_VERSION = '2.39.1';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  number: 'com.docker.compose.container-number',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  version: 'com.docker.compose.version',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
} as const;

/** A digest of what decides a container's configuration; scale alone does not change it. */
export function configHash(service: ServiceConfig): string {
  const { deploy, scale: _, ...rest } = service;
  const { replicas: __, ...deployRest } = deploy ?? {};
  const stable = JSON.stringify(sortDeep({ ...rest, deploy: deployRest }));
  return createHash('sha256').update(stable).digest('hex');
}

function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])]),
    );
  return value;
}

export function imageOf(project: Project, service: ServiceConfig): string {
  return service.image ?? `${project.name}-${service.name}`;
}

export function containerName(project: Project, service: ServiceConfig, number: number): string {
  return service.container_name ?? `${project.name}-${service.name}-${number}`;
}

export function projectLabels(project: Project): Record<string, string> {
  return {
    [LABEL.project]: project.name,
    [LABEL.workingDir]: project.workingDir,
    [LABEL.configFiles]: project.configFiles.join(','),
    [LABEL.version]: COMPOSE_VERSION,
  };
}

function seconds(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : Math.round(parseDurationNs(duration) / 1e9);
}

function nanos(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : parseDurationNs(duration);
}

/** Leaves out the keys whose value is undefined (the API's "not given"). */
function defined<T extends Record<string, unknown>>(record: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}

function restartPolicyOf(service: ServiceConfig): HostConfig['RestartPolicy'] {
  const policy = service.deploy?.restart_policy;
  if (service.restart !== undefined) {
    const [name = 'no', count] = service.restart.split(':');
    return { Name: name as 'no', MaximumRetryCount: count === undefined ? 0 : Number(count) };
  }
  if (policy?.condition !== undefined) {
    const name = policy.condition === 'any' ? 'always' : policy.condition === 'none' ? 'no' : 'on-failure';
    return { Name: name, MaximumRetryCount: policy.max_attempts ?? 0 };
  }
  return undefined;
}

function mountsOf(project: Project, service: ServiceConfig): Record<string, unknown>[] {
  const mounts: Record<string, unknown>[] = [];
  for (const v of service.volumes ?? []) {
    if (v.type === 'volume') {
      const source = v.source === undefined ? undefined : (project.volumes[v.source]?.name ?? v.source);
      mounts.push(
        defined({
          Type: 'volume',
          Source: source,
          Target: v.target,
          ReadOnly: v.read_only,
          VolumeOptions: v.volume?.nocopy ? { NoCopy: true } : undefined,
        }),
      );
    } else if (v.type === 'bind') {
      mounts.push(defined({ Type: 'bind', Source: v.source, Target: v.target, ReadOnly: v.read_only }));
    } else if (v.type === 'tmpfs') {
      const size = v.tmpfs?.size;
      mounts.push(
        defined({
          Type: 'tmpfs',
          Target: v.target,
          TmpfsOptions:
            size === undefined
              ? undefined
              : { SizeBytes: typeof size === 'number' ? size : parseBytes(size) },
        }),
      );
    }
  }
  // File-based secrets and configs are read-only binds, where compose puts them.
  for (const ref of service.secrets ?? []) {
    const file = project.secrets[ref.source]?.file;
    if (file === undefined) continue;
    const target = ref.target?.startsWith('/') ? ref.target : `/run/secrets/${ref.target ?? ref.source}`;
    mounts.push({ Type: 'bind', Source: file, Target: target, ReadOnly: true });
  }
  for (const ref of service.configs ?? []) {
    const file = project.configs[ref.source]?.file;
    if (file === undefined) continue;
    mounts.push({ Type: 'bind', Source: file, Target: ref.target ?? `/${ref.source}`, ReadOnly: true });
  }
  return mounts;
}

function portBindingsOf(service: ServiceConfig): {
  exposed: Record<string, object>;
  bindings: Record<string, { HostIp: string; HostPort: string }[]>;
} {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of service.ports ?? []) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    bindings[key] = [...(bindings[key] ?? []), { HostIp: p.host_ip ?? '', HostPort: p.published ?? '' }];
  }
  for (const e of service.expose ?? []) {
    const [port = '', proto = 'tcp'] = e.split('/');
    exposed[`${port}/${proto}`] = {};
  }
  return { exposed, bindings };
}

function healthOf(service: ServiceConfig): ContainerCreateRequest['Healthcheck'] {
  const hc = service.healthcheck;
  if (hc === undefined) return undefined;
  if (hc.disable) return { Test: ['NONE'] };
  return defined({
    Test: typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : hc.test,
    Interval: nanos(hc.interval),
    Timeout: nanos(hc.timeout),
    Retries: hc.retries,
    StartPeriod: nanos(hc.start_period),
  });
}

function networkModeOf(project: Project, service: ServiceConfig): string {
  const mode = service.network_mode;
  if (mode !== undefined) {
    // `service:x` means the first container of service x.
    if (mode.startsWith('service:')) return `container:${project.name}-${mode.slice('service:'.length)}-1`;
    return mode;
  }
  const first = Object.keys(service.networks ?? {})[0];
  return first === undefined ? 'none' : (project.networks[first]?.name ?? first);
}

export interface ContainerPlan {
  name: string;
  number: number;
  body: ContainerCreateRequest;
  /** Networks to connect after create, beyond the first (the API takes one at create). */
  extraNetworks: { network: string; aliases: string[]; ipv4Address?: string }[];
}

export interface PlanOptions {
  oneoff?: boolean;
  /** `run`: a command, entrypoint, env and name of its own. */
  overrides?: Partial<ContainerCreateRequest>;
  name?: string;
  /** `run` without --service-ports publishes nothing. */
  publishPorts?: boolean;
  imageId?: string;
}

export function planContainer(
  project: Project,
  service: ServiceConfig,
  number: number,
  opts: PlanOptions = {},
): ContainerPlan {
  const name = opts.name ?? containerName(project, service, number);
  const limits = service.deploy?.resources?.limits;
  const reservations = service.deploy?.resources?.reservations;
  const { exposed, bindings } = portBindingsOf(service);
  const publish = opts.publishPorts ?? true;
  const raw = service as Record<string, unknown>;
  const memLimit = (raw.mem_limit as string | number | undefined) ?? limits?.memory;
  const ulimits = raw.ulimits as Record<string, number | { soft: number; hard: number }> | undefined;
  const networkMode = networkModeOf(project, service);
  const networks = Object.entries(service.networks ?? {});
  const endpointOf = (key: string, cfg: { aliases?: string[]; ipv4_address?: string } | null) => ({
    network: project.networks[key]?.name ?? key,
    aliases: [service.name, ...(cfg?.aliases ?? [])],
    ...(cfg?.ipv4_address ? { ipv4Address: cfg.ipv4_address } : {}),
  });
  const endpoints = networks.map(([key, cfg]) => endpointOf(key, cfg));
  const first = endpoints[0];
  const dependsOn = Object.entries(service.depends_on ?? {})
    .map(([dep, d]) => `${dep}:${d.condition}:${d.restart ? 'true' : 'false'}`)
    .join(',');

  const host: HostConfig = defined({
    NetworkMode: networkMode,
    PortBindings: publish ? bindings : {},
    RestartPolicy: restartPolicyOf(service),
    Privileged: raw.privileged as boolean | undefined,
    ReadonlyRootfs: raw.read_only as boolean | undefined,
    Init: raw.init as boolean | undefined,
    Memory:
      memLimit === undefined ? undefined : typeof memLimit === 'number' ? memLimit : parseBytes(memLimit),
    MemoryReservation: reservations?.memory === undefined ? undefined : parseBytes(reservations.memory),
    NanoCpus:
      (raw.cpus ?? limits?.cpus) === undefined ? undefined : parseCpus(String(raw.cpus ?? limits?.cpus)),
    PidsLimit: (raw.pids_limit as number | undefined) ?? limits?.pids,
    CapAdd: raw.cap_add as string[] | undefined,
    CapDrop: raw.cap_drop as string[] | undefined,
    Dns: raw.dns as string[] | undefined,
    DnsSearch: raw.dns_search as string[] | undefined,
    DnsOptions: raw.dns_opt as string[] | undefined,
    ExtraHosts: raw.extra_hosts as string[] | undefined,
    SecurityOpt: raw.security_opt as string[] | undefined,
    Sysctls: raw.sysctls as Record<string, string> | undefined,
    PidMode: raw.pid as string | undefined,
    IpcMode: raw.ipc as string | undefined,
    ShmSize: raw.shm_size === undefined ? undefined : parseBytes(String(raw.shm_size)),
    Tmpfs: service.tmpfs
      ? Object.fromEntries(
          service.tmpfs.map((t) => {
            const [p = '', o = ''] = t.split(':');
            return [p, o];
          }),
        )
      : undefined,
    Mounts: mountsOf(project, service),
    Devices: (
      raw.devices as (string | { source: string; target?: string; permissions?: string })[] | undefined
    )?.map((d) => {
      if (typeof d !== 'string')
        return {
          PathOnHost: d.source,
          PathInContainer: d.target ?? d.source,
          CgroupPermissions: d.permissions ?? 'rwm',
        };
      const [h = '', c, p] = d.split(':');
      return { PathOnHost: h, PathInContainer: c ?? h, CgroupPermissions: p ?? 'rwm' };
    }),
    Ulimits: ulimits
      ? Object.entries(ulimits).map(([n, v]) =>
          typeof v === 'number' ? { Name: n, Soft: v, Hard: v } : { Name: n, Soft: v.soft, Hard: v.hard },
        )
      : undefined,
    LogConfig: raw.logging
      ? {
          Type: String((raw.logging as { driver?: string }).driver ?? 'json-file'),
          Config: (raw.logging as { options?: Record<string, string> }).options ?? {},
        }
      : undefined,
  });

  const labels: Record<string, string> = {
    ...(service.labels ?? {}),
    ...projectLabels(project),
    [LABEL.service]: service.name,
    [LABEL.number]: String(number),
    [LABEL.oneoff]: opts.oneoff ? 'True' : 'False',
    [LABEL.configHash]: configHash(service),
    [LABEL.dependsOn]: dependsOn,
    ...(opts.imageId ? { [LABEL.image]: opts.imageId } : {}),
  };
  const env = Object.entries(service.environment ?? {})
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);

  const body: ContainerCreateRequest = defined({
    Image: imageOf(project, service),
    Cmd: service.command ?? undefined,
    Entrypoint: service.entrypoint ?? undefined,
    Env: env,
    Labels: labels,
    User: raw.user as string | undefined,
    WorkingDir: raw.working_dir as string | undefined,
    Hostname: raw.hostname as string | undefined,
    Domainname: raw.domainname as string | undefined,
    Tty: raw.tty as boolean | undefined,
    OpenStdin: raw.stdin_open as boolean | undefined,
    StopSignal: raw.stop_signal as string | undefined,
    StopTimeout: seconds(raw.stop_grace_period as string | undefined),
    ExposedPorts: exposed,
    Healthcheck: healthOf(service),
    HostConfig: host,
    NetworkingConfig: first
      ? {
          EndpointsConfig: {
            [first.network]: defined({
              Aliases: first.aliases,
              IPAMConfig: first.ipv4Address ? { IPv4Address: first.ipv4Address } : undefined,
            }),
          },
        }
      : undefined,
    ...opts.overrides,
  });
  return { name, number, body, extraNetworks: service.network_mode === undefined ? endpoints.slice(1) : [] };
}
