import type {
  SystemDataUsage,
  VolumeCreateRequest,
  VolumeInfo,
  VolumeListResponse,
  VolumePruneResponse,
} from '../api/index.js';
import type { Transport } from './transport.js';
import type { Filters } from './types.js';

export interface VolumeApi {
  create(body: VolumeCreateRequest): Promise<VolumeInfo>;
  list(opts?: { filters?: Filters }): Promise<VolumeListResponse>;
  inspect(name: string): Promise<VolumeInfo>;
  /** `force` also ignores a volume that does not exist. */
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  prune(opts?: { filters?: Filters }): Promise<VolumePruneResponse>;
}

function filtersQuery(filters: Filters | undefined): string | undefined {
  if (!filters || Object.keys(filters).length === 0) return undefined;
  return JSON.stringify(filters);
}

export function volumeApi(t: Transport): VolumeApi {
  const enc = encodeURIComponent;
  return {
    create: (body) => t.json({ method: 'POST', path: '/volumes/create', body }),
    list: (opts = {}) =>
      t.json({ method: 'GET', path: '/volumes', query: { filters: filtersQuery(opts.filters) } }),
    inspect: (name) => t.json({ method: 'GET', path: `/volumes/${enc(name)}` }),
    remove: (name, opts = {}) =>
      t.empty({ method: 'DELETE', path: `/volumes/${enc(name)}`, query: { force: opts.force } }),
    prune: (opts = {}) =>
      t.json({ method: 'POST', path: '/volumes/prune', query: { filters: filtersQuery(opts.filters) } }),
  };
}

/** `GET /system/df`. */
export function diskUsage(t: Transport, opts: { verbose?: boolean } = {}): Promise<SystemDataUsage> {
  return t.json({ method: 'GET', path: '/system/df', query: { verbose: opts.verbose } });
}
