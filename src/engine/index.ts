export { type BuildOutput, type BuildRequest, StepFailedError } from './build/index.js';
export type {
  Change,
  CommitRequest,
  ContainerOps,
  PathStat,
  ProcessTable,
  ResourceSample,
  StatsReading,
} from './container-ops/index.js';
export { ChangeKind } from './container-ops/index.js';
export type { ContainerStdio } from './container-stdio.js';
export type { ContainerRecord, ContainerStateRecord } from './container-store.js';
export { ZERO_TIME } from './container-store.js';
export type { ContainerService, LogsOptions, WaitCondition } from './containers.js';
export { type Engine, type EngineOptions, openEngine } from './engine.js';
export type { EngineEvent, EventBus } from './events.js';
export type { ExecConfig, ExecRecord, ExecService, ExecSession } from './exec.js';
export type { ImageRecord, ImageService } from './image/index.js';
export { createLogger, type Logger } from './logger.js';
export {
  addresslessEndpoint,
  type NetworkInfo,
  type NetworkService,
  networkSettings,
} from './network/index.js';
export {
  credentialsOf,
  type ProgressSink,
  parseRegistryAuthHeader,
  parseRegistryConfigHeader,
  type RegistryService,
} from './registry/index.js';
export type { LogLine } from './runtime/index.js';
export type { MountRecord, Volume, VolumeService } from './volume/index.js';
