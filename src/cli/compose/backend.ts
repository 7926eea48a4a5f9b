/**
 * What compose does to a daemon, through the API client only: find a project's
 * containers by label, create its networks and volumes, reconcile services (create,
 * recreate on a changed config hash, scale, start in dependency order) and take it down.
 */
import type { ContainerSummary } from '../../api/index.js';
import { NotFoundError } from '../../api/index.js';
import type { Client } from '../../client/index.js';
import { configHash, containerName, imageOf, LABEL, planContainer, projectLabels } from './convert.js';
import { dependencyOrder } from './loader.js';
import { type Project, ProjectError, type ServiceConfig } from './model.js';

/** Compose's plain progress lines (` Container web-1  Started`), on stderr. */
export type Progress = (kind: string, name: string, status: string) => void;

export function containerNumber(c: ContainerSummary): number {
  return Number(c.Labels[LABEL.number] ?? '0');
}

export function nameOf(c: ContainerSummary): string {
  return (c.Names[0] ?? '').replace(/^\//, '');
}

export function serviceOf(c: ContainerSummary): string {
  return c.Labels[LABEL.service] ?? '';
}

export interface ListOptions {
  all?: boolean;
  /** true: only `run` containers; false: only service containers; undefined: both. */
  oneoff?: boolean;
  services?: string[];
}

export async function projectContainers(
  client: Client,
  project: string,
  opts: ListOptions = {},
): Promise<ContainerSummary[]> {
  const label = [`${LABEL.project}=${project}`];
  if (opts.oneoff !== undefined) label.push(`${LABEL.oneoff}=${opts.oneoff ? 'True' : 'False'}`);
  const list = await client.containers.list({ all: opts.all ?? false, filters: { label } });
  const wanted = opts.services && opts.services.length > 0 ? new Set(opts.services) : undefined;
  return list
    .filter((c) => wanted === undefined || wanted.has(serviceOf(c)))
    .sort((a, b) => serviceOf(a).localeCompare(serviceOf(b)) || containerNumber(a) - containerNumber(b));
}

/** Services named on the command line, checked against the model. */
export function selectServices(project: Project, names: string[]): string[] {
  for (const n of names) if (!project.services[n]) throw new ProjectError(`no such service: ${n}`);
  return names.length > 0 ? names : Object.keys(project.services);
}

/** Adds the dependencies of `names` (transitively) unless `noDeps`. */
export function withDependencies(project: Project, names: string[], noDeps = false): string[] {
  const out = new Set<string>();
  const add = (n: string) => {
    if (out.has(n)) return;
    out.add(n);
    if (!noDeps)
      for (const d of Object.keys(project.services[n]?.depends_on ?? {})) if (project.services[d]) add(d);
  };
  for (const n of names) add(n);
  return [...out];
}

export async function ensureNetworks(
  client: Client,
  project: Project,
  services: ServiceConfig[],
  progress: Progress,
): Promise<void> {
  const used = new Set(services.flatMap((s) => Object.keys(s.networks ?? {})));
  for (const [key, net] of Object.entries(project.networks)) {
    if (!used.has(key)) continue;
    try {
      await client.networks.inspect(net.name);
      continue;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    if (net.external)
      throw new ProjectError(`network ${net.name} declared as external, but could not be found`);
    progress('Network', net.name, 'Creating');
    const ipam = net.ipam?.config?.map((c) => ({
      ...(c.subnet ? { Subnet: c.subnet } : {}),
      ...(c.gateway ? { Gateway: c.gateway } : {}),
      ...(c.ip_range ? { IPRange: c.ip_range } : {}),
    }));
    await client.networks.create({
      Name: net.name,
      Driver: net.driver ?? 'bridge',
      Internal: !!net.internal,
      Attachable: !!net.attachable,
      EnableIPv6: !!net.enable_ipv6,
      Options: net.driver_opts ?? {},
      Labels: {
        ...(net.labels ?? {}),
        [LABEL.project]: project.name,
        [LABEL.network]: key,
        [LABEL.version]: projectLabels(project)[LABEL.version] ?? '',
      },
      ...(ipam && ipam.length > 0 ? { IPAM: { Driver: net.ipam?.driver ?? 'default', Config: ipam } } : {}),
    });
    progress('Network', net.name, 'Created');
  }
}

export async function ensureVolumes(
  client: Client,
  project: Project,
  services: ServiceConfig[],
  progress: Progress,
): Promise<void> {
  const used = new Set(services.flatMap((s) => (s.volumes ?? []).map((v) => v.source)));
  for (const [key, vol] of Object.entries(project.volumes)) {
    if (!used.has(key)) continue;
    try {
      await client.volumes.inspect(vol.name);
      continue;
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    if (vol.external) throw new ProjectError(`external volume "${vol.name}" not found`);
    progress('Volume', `"${vol.name}"`, 'Creating');
    await client.volumes.create({
      Name: vol.name,
      Driver: vol.driver ?? 'local',
      DriverOpts: vol.driver_opts ?? {},
      Labels: {
        ...(vol.labels ?? {}),
        [LABEL.project]: project.name,
        [LABEL.volume]: key,
        [LABEL.version]: projectLabels(project)[LABEL.version] ?? '',
      },
    });
    progress('Volume', `"${vol.name}"`, 'Created');
  }
}

/**
 * Host ports two containers of the project would both publish, and ports other running
 * containers already hold: found before anything is created.
 */
export async function checkPortClashes(
  client: Client,
  project: Project,
  services: ServiceConfig[],
  scale: Record<string, number>,
): Promise<void> {
  const claimed = new Map<string, string>();
  for (const s of services) {
    const replicas = scale[s.name] ?? 1;
    for (const p of s.ports ?? []) {
      if (p.published === undefined || p.published.includes('-')) continue;
      const key = `${p.host_ip ?? '0.0.0.0'}:${p.published}/${p.protocol}`;
      const owner = claimed.get(key);
      if (owner !== undefined || replicas > 1)
        throw new ProjectError(
          `service "${s.name}" publishes host port ${p.published}/${p.protocol} ${owner === undefined ? `on ${replicas} replicas` : `already published by service "${owner}"`}: port is already allocated`,
        );
      claimed.set(key, s.name);
    }
  }
  const running = await client.containers.list({});
  for (const c of running) {
    if (c.Labels[LABEL.project] === project.name) continue;
    for (const p of c.Ports) {
      if (p.PublicPort === undefined) continue;
      for (const [key, service] of claimed) {
        const [addr = '', rest = ''] = [
          key.slice(0, key.lastIndexOf(':')),
          key.slice(key.lastIndexOf(':') + 1),
        ];
        const overlaps =
          addr === '0.0.0.0' || p.IP === undefined || p.IP === '0.0.0.0' || p.IP === '' || p.IP === addr;
        if (overlaps && rest === `${p.PublicPort}/${p.Type}`)
          throw new ProjectError(
            `service "${service}": Bind for ${addr}:${p.PublicPort} failed: port is already allocated (by container ${nameOf(c)})`,
          );
      }
    }
  }
}

export function replicasOf(service: ServiceConfig, scale: Record<string, number>): number {
  return scale[service.name] ?? service.deploy?.replicas ?? service.scale ?? 1;
}

export interface ConvergeOptions {
  forceRecreate?: boolean;
  noRecreate?: boolean;
  scale: Record<string, number>;
  /** Create only (`compose create`). */
  noStart?: boolean;
  timeoutSeconds?: number;
}

async function waitHealthy(
  client: Client,
  container: ContainerSummary,
  dependent: string,
  signal?: AbortSignal,
): Promise<void> {
  const name = nameOf(container);
  for (;;) {
    const info = await client.containers.inspect(container.Id);
    const health = info.State.Health as { Status?: string } | undefined;
    if (health === undefined || health === null)
      throw new ProjectError(`container ${name} has no healthcheck configured`);
    if (health.Status === 'healthy') return;
    if (health.Status === 'unhealthy' || (!info.State.Running && !info.State.Restarting))
      throw new ProjectError(`dependency failed to start: container ${name} is unhealthy`);
    if (signal?.aborted) throw new ProjectError(`${dependent}: interrupted waiting for ${name}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitCompleted(client: Client, container: ContainerSummary): Promise<void> {
  const result = await client.containers.wait(container.Id, { condition: 'not-running' });
  if (result.StatusCode !== 0)
    throw new ProjectError(
      `service "${serviceOf(container)}" didn't complete successfully: exit ${result.StatusCode}`,
    );
}

/** Waits for what `service` needs of its dependencies (started, healthy, completed). */
export async function waitDependencies(
  client: Client,
  project: Project,
  service: ServiceConfig,
  progress: Progress,
): Promise<void> {
  for (const [dep, spec] of Object.entries(service.depends_on ?? {})) {
    if (spec.condition === 'service_started' || !project.services[dep]) continue;
    const containers = await projectContainers(client, project.name, {
      all: true,
      oneoff: false,
      services: [dep],
    });
    for (const c of containers) {
      progress('Container', nameOf(c), 'Waiting');
      if (spec.condition === 'service_healthy') await waitHealthy(client, c, service.name);
      else await waitCompleted(client, c);
      progress('Container', nameOf(c), spec.condition === 'service_healthy' ? 'Healthy' : 'Exited');
    }
  }
}

async function createContainer(
  client: Client,
  project: Project,
  service: ServiceConfig,
  number: number,
  progress: Progress,
): Promise<string> {
  const plan = planContainer(project, service, number);
  progress('Container', plan.name, 'Creating');
  const { Id } = await client.containers.create(plan.body, { name: plan.name });
  for (const extra of plan.extraNetworks)
    await client.networks.connect(extra.network, Id, {
      Aliases: extra.aliases,
      ...(extra.ipv4Address ? { IPAMConfig: { IPv4Address: extra.ipv4Address } } : {}),
    });
  progress('Container', plan.name, 'Created');
  return Id;
}

/** Makes one service's containers match the model; returns the ids to start. */
async function convergeService(
  client: Client,
  project: Project,
  service: ServiceConfig,
  opts: ConvergeOptions,
  progress: Progress,
): Promise<string[]> {
  const existing = await projectContainers(client, project.name, {
    all: true,
    oneoff: false,
    services: [service.name],
  });
  const replicas = replicasOf(service, opts.scale);
  if (service.container_name !== undefined && replicas > 1)
    throw new ProjectError(
      `service "${service.name}" has a container_name and cannot be scaled to ${replicas} replicas`,
    );
  const hash = configHash(service);
  // A rebuilt or re-pulled image is a change too: compare ids, as Compose does.
  const imageId = existing.length > 0 ? await currentImageId(client, imageOf(project, service)) : undefined;
  const keep: string[] = [];
  const taken = new Set<number>();
  for (const c of existing) {
    const n = containerNumber(c);
    if (n > replicas || taken.has(n)) {
      progress('Container', nameOf(c), 'Stopping');
      await client.containers.stop(c.Id, timeoutOf(opts));
      await client.containers.remove(c.Id, { force: true });
      progress('Container', nameOf(c), 'Removed');
      continue;
    }
    taken.add(n);
    const stale = c.Labels[LABEL.configHash] !== hash || (imageId !== undefined && c.ImageID !== imageId);
    if ((opts.forceRecreate || stale) && !opts.noRecreate) {
      progress('Container', nameOf(c), 'Recreate');
      await client.containers.stop(c.Id, timeoutOf(opts));
      await client.containers.remove(c.Id, { force: true });
      keep.push(await createContainer(client, project, service, n, progress));
      progress('Container', containerName(project, service, n), 'Recreated');
    } else {
      if (c.State !== 'running') keep.push(c.Id);
      else progress('Container', nameOf(c), 'Running');
    }
  }
  for (let n = 1; n <= replicas; n++) {
    if (!taken.has(n)) keep.push(await createContainer(client, project, service, n, progress));
  }
  return keep;
}

async function currentImageId(client: Client, image: string): Promise<string | undefined> {
  try {
    return (await client.images.inspect(image)).Id;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

function timeoutOf(opts: { timeoutSeconds?: number }): { timeoutSeconds?: number } {
  return opts.timeoutSeconds === undefined ? {} : { timeoutSeconds: opts.timeoutSeconds };
}

/**
 * Brings the named services to the model: in dependency order, services whose
 * dependencies are satisfied run in parallel, each waiting for its `depends_on` conditions.
 */
export async function converge(
  client: Client,
  project: Project,
  names: string[],
  opts: ConvergeOptions,
  progress: Progress,
): Promise<void> {
  const order = dependencyOrder(project.services).filter((n) => names.includes(n));
  const done = new Map<string, Promise<void>>();
  const run = (name: string): Promise<void> => {
    const existing = done.get(name);
    if (existing) return existing;
    const service = project.services[name] as ServiceConfig;
    const deps = Object.keys(service.depends_on ?? {}).filter((d) => names.includes(d));
    const task = (async () => {
      await Promise.all(deps.map(run));
      const ids = await convergeService(client, project, service, opts, progress);
      if (opts.noStart) return;
      await waitDependencies(client, project, service, progress);
      await Promise.all(
        ids.map(async (id) => {
          const info = await client.containers.inspect(id);
          const name = info.Name.replace(/^\//, '');
          progress('Container', name, 'Starting');
          await client.containers.start(id);
          progress('Container', name, 'Started');
        }),
      );
    })();
    done.set(name, task);
    return task;
  };
  await Promise.all(order.map(run));
}

/** Containers of services the model no longer has (and no profile hides). */
export function isOrphan(project: Project, c: ContainerSummary): boolean {
  const s = serviceOf(c);
  return !project.services[s] && !project.disabledServices[s];
}
