export { type Change, ChangeKind } from './changes.js';
export {
  type CommitRequest,
  ContainerOps,
  type ContainerOpsDeps,
  type ContainerView,
  type PathStat,
  type PutArchiveOptions,
  type StatsReading,
} from './ops.js';
export type { BlkioEntry, NetworkCounters, ResourceSample } from './stats.js';
export type { ProcessTable } from './top.js';
