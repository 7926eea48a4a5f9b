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
  RepoDigests?: string[];
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

/** The digest `docker push` printed for `tag` (`TAG: digest: sha256:... size: N`). */
export function pushedDigest(stdout: string, tag: string): string {
  const match = new RegExp(`^${tag}: digest: (sha256:[a-f0-9]{64}) size: \\d+$`, 'm').exec(stdout);
  if (!match?.[1]) throw new Error(`no digest for ${tag} in: ${stdout}`);
  return match[1];
}
