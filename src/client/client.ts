import type { Readable } from 'node:stream';
import type {
  ContainerCreateRequest,
  ContainerCreateResponse,
  ContainerInspect,
  ContainerSummary,
  EventMessage,
  HostConfig,
  ImageDeleteResponseItem,
  ImageHistoryResponseItem,
  ImageInspect,
  ImageSummary,
  SystemDataUsage,
  VersionResponse,
  WaitResponse,
} from '../api/index.js';
import { MULTIPLEXED_STREAM_MEDIA_TYPE, NotModifiedError, RAW_STREAM_MEDIA_TYPE } from '../api/index.js';
import { type BuildApi, buildApi } from './build.js';
import { type ContainerOpsApi, containerOpsApi } from './container-ops.js';
import { type ExecApi, execApi } from './exec.js';
import { DEFAULT_HOST } from './host.js';
import { readJsonLines } from './json-stream.js';
import { type NetworkApi, networkApi } from './networks.js';
import { type RegistryApi, registryApi } from './registry.js';
import { type Query, readBody, Transport } from './transport.js';
import type {
  Filters,
  ImagePruneResponse,
  JsonMessage,
  LogsOptions,
  PingResult,
  SystemInfo,
  WaitCondition,
} from './types.js';
import { diskUsage, type VolumeApi, volumeApi } from './volumes.js';

/** A container's output (and input, when attached with stdin) as a byte stream. */
export interface ContainerStream {
  stream: Readable;
  /** True when the bytes are Docker frames (no TTY); false for a TTY's raw bytes. */
  isMultiplexed: boolean;
}

export interface AttachedContainer extends ContainerStream {
  /** Writes go to the container's stdin; `end()` closes it. */
  input: NodeJS.WritableStream;
  close(): void;
}

/** A wait the daemon has accepted; it will not miss an exit that happens from now on. */
export interface PendingWait {
  result: Promise<WaitResponse>;
}

export interface ContainerApi {
  create(body: ContainerCreateRequest, opts?: { name?: string }): Promise<ContainerCreateResponse>;
  /** Starting a running container is not an error, as with docker (the daemon says 304). */
  start(id: string): Promise<void>;
  /** Stopping a stopped container is not an error (304). */
  stop(id: string, opts?: { timeoutSeconds?: number; signal?: string }): Promise<void>;
  kill(id: string, opts?: { signal?: string }): Promise<void>;
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  restart(id: string, opts?: { timeoutSeconds?: number }): Promise<void>;
  rename(id: string, name: string): Promise<void>;
  update(id: string, changes: HostConfig): Promise<{ Warnings: string[] | null }>;
  prune(opts?: {
    filters?: Filters;
  }): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  remove(id: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  list(opts?: {
    all?: boolean;
    limit?: number;
    size?: boolean;
    filters?: Filters;
  }): Promise<ContainerSummary[]>;
  inspect(id: string, opts?: { size?: boolean }): Promise<ContainerInspect>;
  logs(id: string, opts?: LogsOptions & { tty?: boolean }): Promise<ContainerStream>;
  /** Resolves once the daemon has registered the wait (headers received). */
  startWait(id: string, opts?: { condition?: WaitCondition }): Promise<PendingWait>;
  wait(id: string, opts?: { condition?: WaitCondition }): Promise<WaitResponse>;
  /** `tty` says how to read the stream when the daemon does not name its media type. */
  attach(
    id: string,
    opts?: { stdin?: boolean; tty?: boolean; detachKeys?: string },
  ): Promise<AttachedContainer>;
  /** `POST /containers/{id}/resize`: the size of the container's TTY. */
  resize(id: string, size: { height: number; width: number }): Promise<void>;
}

export interface ImageApi {
  list(opts?: { all?: boolean; digests?: boolean; filters?: Filters }): Promise<ImageSummary[]>;
  inspect(name: string): Promise<ImageInspect>;
  history(name: string): Promise<ImageHistoryResponseItem[]>;
  tag(name: string, target: { repo: string; tag: string }): Promise<void>;
  remove(name: string, opts?: { force?: boolean; noPrune?: boolean }): Promise<ImageDeleteResponseItem[]>;
  prune(opts?: { filters?: Filters }): Promise<ImagePruneResponse>;
  /** `POST /images/load` with a tar archive; yields the daemon's progress messages. */
  load(tar: Readable, opts?: { quiet?: boolean }): Promise<AsyncIterable<JsonMessage>>;
  /** `GET /images/get`: a tar archive of the named images. */
  save(names: string[]): Promise<Readable>;
  /** `POST /images/create?fromSrc=`: a root filesystem tar (or a URL the daemon fetches). */
  import(
    source: { tar: Readable } | { url: string },
    opts?: { repo?: string; tag?: string; changes?: string[]; message?: string },
  ): Promise<AsyncIterable<JsonMessage>>;
}

export interface Client {
  readonly host: string;
  ping(): Promise<PingResult>;
  /** The API version in use after negotiation. */
  apiVersion(): Promise<string>;
  version(): Promise<VersionResponse>;
  info(): Promise<SystemInfo>;
  events(opts?: {
    since?: string;
    until?: string;
    filters?: Filters;
    signal?: AbortSignal;
  }): AsyncIterable<EventMessage>;
  containers: ContainerApi;
  /** `docker exec`: create, start (attached or detached), inspect, resize. */
  exec: ExecApi;
  /** stats, top, diff, export, commit and cp. */
  containerOps: ContainerOpsApi;
  images: ImageApi;
  volumes: VolumeApi;
  networks: NetworkApi;
  /** `berth build` and `berth builder prune`. */
  build: BuildApi;
  /** `GET /system/df`: what images, containers, volumes and the build cache use. */
  diskUsage(opts?: { verbose?: boolean }): Promise<SystemDataUsage>;
  registry: RegistryApi;
  /** Lets the process exit: drops idle keep-alive connections. */
  close(): void;
}

const enc = encodeURIComponent;

function filtersQuery(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  return JSON.stringify(filters);
}

function isMultiplexedMedia(contentType: string | undefined, tty: boolean | undefined): boolean {
  if (contentType?.startsWith(MULTIPLEXED_STREAM_MEDIA_TYPE)) return true;
  if (contentType?.startsWith(RAW_STREAM_MEDIA_TYPE)) return false;
  return !tty;
}

async function ignoreNotModified(done: Promise<void>): Promise<void> {
  try {
    await done;
  } catch (e) {
    if (!(e instanceof NotModifiedError)) throw e;
  }
}

function containerApi(t: Transport): ContainerApi {
  const startWait = async (id: string, opts: { condition?: WaitCondition } = {}): Promise<PendingWait> => {
    const res = await t.send({
      method: 'POST',
      path: `/containers/${enc(id)}/wait`,
      query: { condition: opts.condition },
    });
    return { result: readBody(res).then((body) => JSON.parse(body) as WaitResponse) };
  };
  return {
    create: (body, opts = {}) =>
      t.json({ method: 'POST', path: '/containers/create', query: { name: opts.name }, body }),
    start: (id) => ignoreNotModified(t.empty({ method: 'POST', path: `/containers/${enc(id)}/start` })),
    stop: (id, opts = {}) =>
      ignoreNotModified(
        t.empty({
          method: 'POST',
          path: `/containers/${enc(id)}/stop`,
          query: { t: opts.timeoutSeconds, signal: opts.signal },
        }),
      ),
    kill: (id, opts = {}) =>
      t.empty({ method: 'POST', path: `/containers/${enc(id)}/kill`, query: { signal: opts.signal } }),
    pause: (id) => t.empty({ method: 'POST', path: `/containers/${enc(id)}/pause` }),
    unpause: (id) => t.empty({ method: 'POST', path: `/containers/${enc(id)}/unpause` }),
    restart: (id, opts = {}) =>
      t.empty({ method: 'POST', path: `/containers/${enc(id)}/restart`, query: { t: opts.timeoutSeconds } }),
    rename: (id, name) => t.empty({ method: 'POST', path: `/containers/${enc(id)}/rename`, query: { name } }),
    update: (id, changes) => t.json({ method: 'POST', path: `/containers/${enc(id)}/update`, body: changes }),
    prune: (opts = {}) =>
      t.json({ method: 'POST', path: '/containers/prune', query: { filters: filtersQuery(opts.filters) } }),
    remove: (id, opts = {}) =>
      t.empty({
        method: 'DELETE',
        path: `/containers/${enc(id)}`,
        query: { force: opts.force, v: opts.volumes },
      }),
    list: (opts = {}) =>
      t.json({
        method: 'GET',
        path: '/containers/json',
        query: { all: opts.all, limit: opts.limit, size: opts.size, filters: filtersQuery(opts.filters) },
      }),
    inspect: (id, opts = {}) =>
      t.json({ method: 'GET', path: `/containers/${enc(id)}/json`, query: { size: opts.size } }),
    logs: async (id, opts = {}) => {
      const query: Query = {
        follow: opts.follow,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        since: opts.since,
        until: opts.until,
        timestamps: opts.timestamps,
        tail: opts.tail,
      };
      const res = await t.send({
        method: 'GET',
        path: `/containers/${enc(id)}/logs`,
        query,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { stream: res, isMultiplexed: isMultiplexedMedia(res.headers['content-type'], opts.tty) };
    },
    startWait,
    wait: async (id, opts = {}) => (await startWait(id, opts)).result,
    attach: async (id, opts = {}) => {
      const { socket, contentType } = await t.upgrade({
        method: 'POST',
        path: `/containers/${enc(id)}/attach`,
        query: { stream: true, stdin: opts.stdin, stdout: true, stderr: true, detachKeys: opts.detachKeys },
      });
      return {
        stream: socket,
        input: socket,
        isMultiplexed: isMultiplexedMedia(contentType, opts.tty),
        close: () => socket.destroy(),
      };
    },
    resize: (id, size) =>
      t.empty({
        method: 'POST',
        path: `/containers/${enc(id)}/resize`,
        query: { h: size.height, w: size.width },
      }),
  };
}

function imageApi(t: Transport): ImageApi {
  return {
    list: (opts = {}) =>
      t.json({
        method: 'GET',
        path: '/images/json',
        query: { all: opts.all, digests: opts.digests, filters: filtersQuery(opts.filters) },
      }),
    inspect: (name) => t.json({ method: 'GET', path: `/images/${enc(name)}/json` }),
    history: (name) => t.json({ method: 'GET', path: `/images/${enc(name)}/history` }),
    tag: (name, target) =>
      t.empty({
        method: 'POST',
        path: `/images/${enc(name)}/tag`,
        query: { repo: target.repo, tag: target.tag },
      }),
    remove: (name, opts = {}) =>
      t.json({
        method: 'DELETE',
        path: `/images/${enc(name)}`,
        query: { force: opts.force, noprune: opts.noPrune },
      }),
    prune: (opts = {}) =>
      t.json({ method: 'POST', path: '/images/prune', query: { filters: filtersQuery(opts.filters) } }),
    load: async (tar, opts = {}) => {
      const res = await t.send({
        method: 'POST',
        path: '/images/load',
        query: { quiet: opts.quiet },
        body: tar,
      });
      return readJsonLines<JsonMessage>(res);
    },
    save: (names) => t.send({ method: 'GET', path: '/images/get', query: { names } }),
    import: async (source, opts = {}) => {
      const query: Query = {
        fromSrc: 'url' in source ? source.url : '-',
        repo: opts.repo,
        tag: opts.tag,
        changes: opts.changes,
        message: opts.message,
      };
      const body = 'tar' in source ? { body: source.tar } : {};
      const res = await t.send({ method: 'POST', path: '/images/create', query, ...body });
      return readJsonLines<JsonMessage>(res);
    },
  };
}

/** A client for one berthd (or any Docker Engine API daemon). Nothing is sent until a method is called. */
export function createClient(opts: { host?: string } = {}): Client {
  const t = new Transport(opts.host ?? DEFAULT_HOST);
  return {
    host: t.host,
    ping: async () => {
      const headers = await t.ping();
      const header = (name: string) => {
        const value = headers[name];
        return typeof value === 'string' ? value : undefined;
      };
      return { apiVersion: header('api-version'), osType: header('ostype') };
    },
    apiVersion: () => t.apiVersion(),
    version: () => t.json({ method: 'GET', path: '/version' }),
    info: () => t.json({ method: 'GET', path: '/info' }),
    events: (o = {}) => ({
      async *[Symbol.asyncIterator]() {
        const res = await t.send({
          method: 'GET',
          path: '/events',
          query: { since: o.since, until: o.until, filters: filtersQuery(o.filters) },
          ...(o.signal ? { signal: o.signal } : {}),
        });
        yield* readJsonLines<EventMessage>(res);
      },
    }),
    containers: containerApi(t),
    exec: execApi(t),
    containerOps: containerOpsApi(t),
    images: imageApi(t),
    volumes: volumeApi(t),
    networks: networkApi(t),
    build: buildApi(t),
    diskUsage: (o) => diskUsage(t, o),
    registry: registryApi(t),
    close: () => t.close(),
  };
}
