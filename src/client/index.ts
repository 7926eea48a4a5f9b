export type { BuildApi, BuildOptions } from './build.js';
export type {
  AttachedContainer,
  Client,
  ContainerApi,
  ContainerStream,
  ImageApi,
  PendingWait,
} from './client.js';
export { createClient } from './client.js';
export type {
  CommitOptions,
  ContainerChangeJson,
  ContainerOpsApi,
  ContainerPathStat,
  ContainerStatsJson,
  ContainerTopJson,
  CpuStatsJson,
} from './container-ops.js';
export { DaemonConnectionError, errorFromStatus } from './errors.js';
export type { ExecApi, ExecCreateRequest, ExecInspect } from './exec.js';
// Test support: a scripted stand-in daemon for client and CLI tests (never used by the product).
export { type FakeDaemon, type RecordedRequest, sendJson, startFakeDaemon } from './fake-daemon.js';
export { copyFrames, type OutputSinks } from './frames.js';
export { type DaemonAddress, DEFAULT_HOST, HostFormatError, parseHost } from './host.js';
export type {
  IpamConfig,
  NetworkApi,
  NetworkContainer,
  NetworkCreateRequest,
  NetworkEndpointConfig,
  NetworkResource,
} from './networks.js';
export { encodeRegistryAuth, type RegistryApi, type RegistryAuth } from './registry.js';
export type {
  Filters,
  ImagePruneResponse,
  JsonMessage,
  LogsOptions,
  PingResult,
  SystemInfo,
  WaitCondition,
} from './types.js';
export type { VolumeApi } from './volumes.js';
