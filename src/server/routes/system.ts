import { cpus, hostname, release, totalmem } from 'node:os';
import type { EventMessage, VersionResponse } from '../../api/index.js';
import { API_VERSION, BERTH_VERSION, MIN_API_VERSION } from '../../api/index.js';
import type { Engine } from '../../engine/index.js';
import type { RequestContext } from '../context.js';
import { matchesAny, matchesLabels, parseFilters, parseTimestamp } from '../filters.js';
import type { ApiRouter } from '../router.js';

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
const UNAME_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', ia32: 'i686' };

function ping(ctx: RequestContext): void {
  const { reply } = ctx;
  const headers = {
    'API-Version': API_VERSION,
    'Builder-Version': '1',
    'Docker-Experimental': 'false',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    OSType: 'linux',
  };
  const out = reply.stream(200, 'text/plain; charset=utf-8', headers);
  out.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
}

export function versionOf(): VersionResponse {
  const arch = GO_ARCH[process.arch] ?? process.arch;
  return {
    Platform: { Name: 'berth' },
    Components: [
      {
        Name: 'Engine',
        Version: BERTH_VERSION,
        Details: {
          ApiVersion: API_VERSION,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
          Arch: arch,
          KernelVersion: release(),
        },
      },
    ],
    Version: BERTH_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: arch,
    KernelVersion: release(),
    BuildTime: '',
  };
}

async function info(engine: Engine, ctx: RequestContext): Promise<void> {
  const containers = engine.containers.list();
  const count = (status: string) => containers.filter((c) => c.state.status === status).length;
  const images = await engine.images.list({ all: true });
  ctx.reply.json(200, {
    ID: engine.options.dataRoot,
    Containers: containers.length,
    ContainersRunning: count('running'),
    ContainersPaused: count('paused'),
    ContainersStopped: containers.length - count('running') - count('paused'),
    Images: images.length,
    Driver: 'overlay',
    DriverStatus: [['Backing Filesystem', 'overlayfs']],
    Plugins: {
      Volume: ['local'],
      Network: ['bridge', 'host', 'none'],
      Authorization: null,
      Log: ['k8s-file'],
    },
    MemoryLimit: true,
    SwapLimit: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'k8s-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'berth',
    OSVersion: '',
    OSType: 'linux',
    Architecture: UNAME_ARCH[process.arch] ?? process.arch,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: registryConfigOf(engine.options),
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: engine.options.dataRoot,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: BERTH_VERSION,
    Runtimes: { [engine.options.runtime]: { path: engine.options.runtime } },
    DefaultRuntime: engine.options.runtime,
    Swarm: {
      NodeID: '',
      NodeAddr: '',
      LocalNodeState: 'inactive',
      ControlAvailable: false,
      Error: '',
      RemoteManagers: null,
    },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: 'tini',
    SecurityOptions: [],
    Warnings: [],
  });
}

const EVENT_FILTERS = [
  'container',
  'image',
  'event',
  'type',
  'label',
  'network',
  'volume',
  'daemon',
  'scope',
];

function eventMatches(e: EventMessage, filters: Record<string, string[]>): boolean {
  const name = e.Actor.Attributes.name ?? '';
  return (
    matchesAny(filters.type, (t) => t === e.Type) &&
    matchesAny(filters.event, (a) => a === e.Action || e.Action.startsWith(`${a}:`)) &&
    matchesAny(
      filters.container,
      (c) => e.Type === 'container' && (e.Actor.ID.startsWith(c) || name === c),
    ) &&
    matchesAny(
      filters.image,
      (i) => (e.Type === 'image' && (e.Actor.ID === i || name === i)) || e.Actor.Attributes.image === i,
    ) &&
    matchesLabels(e.Actor.Attributes, filters.label)
  );
}

/** `GET /events`: past events since `since`, then live ones until `until` or the client leaves. */
function events(engine: Engine, ctx: RequestContext): Promise<void> {
  const { query } = ctx;
  const filters = parseFilters(query.get('filters'), EVENT_FILTERS);
  const since = query.get('since') ? parseTimestamp(query.get('since') ?? '', 'since') : undefined;
  const until = query.get('until') ? parseTimestamp(query.get('until') ?? '', 'until') : undefined;
  const inWindow = (e: EventMessage) => {
    const t = e.timeNano / 1e9;
    return (since === undefined || t >= since) && (until === undefined || t <= until);
  };
  const out = ctx.reply.stream(200, 'application/json');
  const send = (e: EventMessage) => {
    if (inWindow(e) && eventMatches(e, filters)) out.write(`${JSON.stringify(e)}\n`);
  };
  if (since !== undefined) for (const e of engine.events.past()) send(e);
  const nowS = Date.now() / 1000;
  if (until !== undefined && until <= nowS) {
    out.end();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const unsubscribe = engine.events.subscribe(send);
    const finish = () => {
      unsubscribe();
      clearTimeout(timer);
      out.end();
      resolve();
    };
    const timer = until !== undefined ? setTimeout(finish, (until - nowS) * 1000) : undefined;
    ctx.signal.addEventListener('abort', finish, { once: true });
  });
}

export function addSystemRoutes(router: ApiRouter, engine: Engine): void {
  router
    .on(['GET', 'HEAD'], '/_ping', ping)
    .on('GET', '/version', (ctx) => ctx.reply.json(200, versionOf()))
    .on('GET', '/info', (ctx) => info(engine, ctx))
    .on('GET', '/events', (ctx) => events(engine, ctx));
}

/**
 * `docker info`'s registry section as dockerd fills it: loopback and the CIDRs of
 * `--insecure-registry` as insecure ranges, its host names as insecure indexes, Docker
 * Hub as the official index with the mirrors.
 */
function registryConfigOf(options: Engine['options']): Record<string, unknown> {
  const insecure = options.insecureRegistries ?? [];
  const isCidr = (entry: string) => /\/\d+$/.test(entry);
  const mirrors = (options.registryMirrors ?? []).map((m) => (m.endsWith('/') ? m : `${m}/`));
  const indexConfigs: Record<string, unknown> = {
    'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true },
  };
  for (const host of insecure.filter((entry) => !isCidr(entry))) {
    indexConfigs[host] = { Name: host, Mirrors: [], Secure: false, Official: false };
  }
  return {
    InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8', ...insecure.filter(isCidr)],
    IndexConfigs: indexConfigs,
    Mirrors: mirrors,
  };
}
