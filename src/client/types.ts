/** Client-side shapes the shared wire types do not cover yet. */

/** `GET /info`; only the fields the CLI shows are named. */
export interface SystemInfo {
  ID?: string;
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  Driver?: string;
  DockerRootDir?: string;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  ServerVersion?: string;
  DefaultRuntime?: string;
  LiveRestoreEnabled?: boolean;
  Debug?: boolean;
  Labels?: string[];
  Warnings?: string[] | null;
  [key: string]: unknown;
}

/** One message of a load, import or pull response stream (Docker's jsonmessage). */
export interface JsonMessage {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: unknown;
}

export interface PingResult {
  apiVersion: string | undefined;
  osType: string | undefined;
}

/** Docker's filter argument: each key to the values any of which may match. */
export type Filters = Record<string, string[]>;

export interface ImagePruneResponse {
  ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null;
  SpaceReclaimed: number;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export interface LogsOptions {
  follow?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  tail?: string;
  signal?: AbortSignal;
}
