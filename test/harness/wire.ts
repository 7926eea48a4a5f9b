/** The parts of Docker's wire shapes the integration tests read. */

export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
    Paused?: boolean;
    OOMKilled?: boolean;
    Error?: string;
  };
  RestartCount?: number;
  Config: {
    Hostname: string;
    User: string;
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    WorkingDir: string;
    Labels: Record<string, string> | null;
    Image: string;
    StopSignal?: string;
    StopTimeout?: number;
  };
  HostConfig: { NetworkMode: string; AutoRemove: boolean; Memory?: number };
  NetworkSettings: {
    IPAddress: string;
    Gateway: string;
    Networks: Record<string, { IPAddress: string; Gateway: string }>;
  };
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  Config: { Cmd: string[] | null; Env: string[] | null; Entrypoint: string[] | null };
}

export interface ErrorBody {
  message: string;
}

/** Parses `docker inspect` output, which is always a JSON array. */
export function parseInspect<T>(stdout: string): T {
  const list = JSON.parse(stdout) as T[];
  if (!Array.isArray(list) || list.length !== 1 || list[0] === undefined) {
    throw new Error(`expected a one-element JSON array from inspect, got: ${stdout.slice(0, 500)}`);
  }
  return list[0];
}
