import type { Readable } from 'node:stream';
import { readJsonLines } from './json-stream.js';
import { readBody, type Transport } from './transport.js';

/** `GET /containers/{id}/stats`, the fields berth shows (Docker's JSON, cgroup v1 and v2). */
export interface ContainerStatsJson {
  read: string;
  preread: string;
  name?: string;
  id?: string;
  pids_stats?: { current?: number; limit?: number };
  blkio_stats?: {
    io_service_bytes_recursive?: { major: number; minor: number; op: string; value: number }[] | null;
  };
  cpu_stats?: CpuStatsJson;
  precpu_stats?: CpuStatsJson;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

export interface CpuStatsJson {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** `GET /containers/{id}/top`. */
export interface ContainerTopJson {
  Titles: string[];
  Processes: string[][] | null;
}

/** One entry of `GET /containers/{id}/changes`: Kind 0 modified, 1 added, 2 deleted. */
export interface ContainerChangeJson {
  Path: string;
  Kind: 0 | 1 | 2;
}

/** What `X-Docker-Container-Path-Stat` says about a path in a container (mode is Go's FileMode). */
export interface ContainerPathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
}

/** Stats, top, diff, export, commit and cp (`archive`) of one container. */
export interface ContainerOpsApi {
  /** One reading (`stream=false`), or a reading a second until `signal` aborts. */
  stats(id: string, opts: { stream: false }): Promise<ContainerStatsJson>;
  stats(id: string, opts: { stream: true; signal?: AbortSignal }): Promise<AsyncIterable<ContainerStatsJson>>;
  top(id: string, opts?: { psArgs?: string }): Promise<ContainerTopJson>;
  changes(id: string): Promise<ContainerChangeJson[]>;
  export(id: string): Promise<Readable>;
  commit(id: string, opts?: CommitOptions): Promise<{ Id: string }>;
  statPath(id: string, path: string): Promise<ContainerPathStat>;
  getArchive(id: string, path: string): Promise<{ stat: ContainerPathStat; tar: Readable }>;
  putArchive(
    id: string,
    path: string,
    tar: Readable,
    opts?: { noOverwriteDirNonDir?: boolean; copyUidGid?: boolean },
  ): Promise<void>;
}

const PATH_STAT_HEADER = 'x-docker-container-path-stat';
const enc = encodeURIComponent;

function decodePathStat(header: string | string[] | undefined): ContainerPathStat {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) throw new Error('the daemon sent no path stat');
  return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as ContainerPathStat;
}

export function containerOpsApi(t: Transport): ContainerOpsApi {
  async function stats(id: string, opts: { stream: false }): Promise<ContainerStatsJson>;
  async function stats(
    id: string,
    opts: { stream: true; signal?: AbortSignal },
  ): Promise<AsyncIterable<ContainerStatsJson>>;
  async function stats(
    id: string,
    opts: { stream: boolean; signal?: AbortSignal },
  ): Promise<ContainerStatsJson | AsyncIterable<ContainerStatsJson>> {
    if (!opts.stream) {
      return t.json({ method: 'GET', path: `/containers/${enc(id)}/stats`, query: { stream: '0' } });
    }
    const res = await t.send({
      method: 'GET',
      path: `/containers/${enc(id)}/stats`,
      query: { stream: '1' },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return readJsonLines<ContainerStatsJson>(res);
  }
  return {
    stats,
    top: (id, opts = {}) =>
      t.json({ method: 'GET', path: `/containers/${enc(id)}/top`, query: { ps_args: opts.psArgs } }),
    changes: async (id) =>
      (await t.json<ContainerChangeJson[] | null>({
        method: 'GET',
        path: `/containers/${enc(id)}/changes`,
      })) ?? [],
    export: (id) => t.send({ method: 'GET', path: `/containers/${enc(id)}/export` }),
    commit: (id, opts = {}) =>
      t.json({
        method: 'POST',
        path: '/commit',
        query: {
          container: id,
          repo: opts.repo,
          tag: opts.tag,
          comment: opts.comment,
          author: opts.author,
          changes: opts.changes,
          // Docker pauses by default; only a refusal is sent.
          pause: opts.pause === false ? '0' : undefined,
        },
        body: {},
      }),
    statPath: async (id, path) => {
      const res = await t.send({ method: 'HEAD', path: `/containers/${enc(id)}/archive`, query: { path } });
      await readBody(res);
      return decodePathStat(res.headers[PATH_STAT_HEADER]);
    },
    getArchive: async (id, path) => {
      const res = await t.send({ method: 'GET', path: `/containers/${enc(id)}/archive`, query: { path } });
      return { stat: decodePathStat(res.headers[PATH_STAT_HEADER]), tar: res };
    },
    putArchive: async (id, path, tar, opts = {}) => {
      const res = await t.send({
        method: 'PUT',
        path: `/containers/${enc(id)}/archive`,
        query: { path, noOverwriteDirNonDir: opts.noOverwriteDirNonDir, copyUIDGID: opts.copyUidGid },
        body: tar,
        contentType: 'application/x-tar',
      });
      await readBody(res);
    },
  };
}
