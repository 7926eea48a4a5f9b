/** Turns the engine's records into Docker's wire shapes. */
import type {
  ContainerInspect,
  ContainerState,
  ContainerSummary,
  HostConfig,
  ImageInspect,
  ImageSummary,
  MountPoint,
  NetworkSettings,
} from '../api/index.js';
import { humanDuration } from '../api/index.js';
import {
  addresslessEndpoint,
  type ContainerRecord,
  type ImageRecord,
  networkSettings,
} from '../engine/index.js';

/** What inspect shows while stopped: the networks the container belongs to, without addresses. */
function networkSettingsOf(record: ContainerRecord): NetworkSettings {
  if (record.network) return record.network.settings;
  const mode =
    record.hostConfig.NetworkMode === 'default' ? 'bridge' : (record.hostConfig.NetworkMode ?? 'bridge');
  return networkSettings({
    networkName: mode,
    endpoint: addresslessEndpoint('', ''),
    sandboxId: '',
    sandboxKey: '',
  });
}

/** Docker's `Mounts`: volumes and binds, and `--mount type=tmpfs` (a `--tmpfs` is not listed). */
export function mountPointsOf(record: ContainerRecord): MountPoint[] {
  return (record.mounts ?? [])
    .filter((m) => !m.hidden)
    .map((m) => ({
      Type: m.type,
      ...(m.name !== undefined ? { Name: m.name } : {}),
      Source: m.source,
      Destination: m.destination,
      ...(m.type === 'volume' ? { Driver: 'local' } : {}),
      Mode: m.mode,
      RW: !m.readonly,
      Propagation: m.propagation,
    }));
}

function stateOf(record: ContainerRecord): ContainerState {
  const { state } = record;
  return {
    Status: state.status,
    Running: state.status === 'running' || state.status === 'paused',
    Paused: state.status === 'paused',
    Restarting: state.status === 'restarting',
    OOMKilled: state.oomKilled,
    Dead: state.status === 'dead',
    Pid: state.pid,
    ExitCode: state.exitCode,
    Error: state.error,
    StartedAt: state.startedAt,
    FinishedAt: state.finishedAt,
    ...(state.health ? { Health: state.health } : {}),
  };
}

// Docker's suffix on a running container's status: ` (healthy)`, ` (health: starting)`.
function healthSuffix(record: ContainerRecord): string {
  const status = record.state.health?.Status;
  if (status === undefined) return '';
  return status === 'starting' ? ' (health: starting)' : ` (${status})`;
}

// The defaults Docker fills in, so clients that read them find values.
function hostConfigOf(record: ContainerRecord): HostConfig {
  return {
    Binds: null,
    NetworkMode: 'bridge',
    PortBindings: {},
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
    AutoRemove: false,
    Privileged: false,
    ReadonlyRootfs: false,
    LogConfig: { Type: 'k8s-file', Config: {} },
    ...record.hostConfig,
  };
}

export function containerInspectOf(
  record: ContainerRecord,
  paths: { logPath: string; hostsPath: string; hostnamePath: string; resolvConfPath: string },
  sizes?: { rw: number; rootFs: number },
): ContainerInspect {
  const inspect: ContainerInspect = {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: stateOf(record),
    Image: record.imageId,
    ResolvConfPath: paths.resolvConfPath,
    HostnamePath: paths.hostnamePath,
    HostsPath: paths.hostsPath,
    LogPath: paths.logPath,
    Name: record.name,
    RestartCount: record.restartCount,
    Driver: 'overlay',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: hostConfigOf(record),
    GraphDriver: { Name: 'overlay', Data: null },
    Mounts: mountPointsOf(record),
    Config: record.config,
    NetworkSettings: networkSettingsOf(record),
  };
  if (sizes) {
    inspect.SizeRw = sizes.rw;
    inspect.SizeRootFs = sizes.rootFs;
  }
  return inspect;
}

/** Docker's STATUS column: `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`. */
export function statusTextOf(record: ContainerRecord, now = Date.now()): string {
  const { state } = record;
  switch (state.status) {
    case 'running':
      return `Up ${humanDuration(now - Date.parse(state.startedAt))}${healthSuffix(record)}`;
    case 'paused':
      return `Up ${humanDuration(now - Date.parse(state.startedAt))} (Paused)`;
    case 'restarting':
      return `Restarting (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
    case 'exited':
      return `Exited (${state.exitCode}) ${humanDuration(now - Date.parse(state.finishedAt))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

function quoteArg(arg: string): string {
  return /\s/.test(arg) ? `'${arg}'` : arg;
}

/** `GET /containers/json`'s Ports, from inspect's map: one entry per binding, unpublished ports bare. */
function portSummariesOf(ports: NetworkSettings['Ports']): ContainerSummary['Ports'] {
  return Object.entries(ports ?? {}).flatMap(([key, bindings]) => {
    const [port = '0', type = 'tcp'] = key.split('/');
    if (!bindings || bindings.length === 0) return [{ PrivatePort: Number(port), Type: type }];
    return bindings.map((b) => ({
      IP: b.HostIp || '0.0.0.0',
      PrivatePort: Number(port),
      PublicPort: Number(b.HostPort),
      Type: type,
    }));
  });
}

export function containerSummaryOf(
  record: ContainerRecord,
  sizes?: { rw: number; rootFs: number },
): ContainerSummary {
  const settings = networkSettingsOf(record);
  const summary: ContainerSummary = {
    Id: record.id,
    Names: [record.name],
    Image: record.imageRef,
    ImageID: record.imageId,
    Command: [record.path, ...record.args].map(quoteArg).join(' '),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: portSummariesOf(settings.Ports),
    Labels: record.config.Labels ?? {},
    State: record.state.status,
    Status: statusTextOf(record),
    HostConfig: { NetworkMode: record.hostConfig.NetworkMode ?? 'bridge' },
    NetworkSettings: { Networks: settings.Networks },
    Mounts: mountPointsOf(record),
  };
  if (sizes) {
    summary.SizeRw = sizes.rw;
    summary.SizeRootFs = sizes.rootFs;
  }
  return summary;
}

export function imageSummaryOf(image: ImageRecord, containers = -1): ImageSummary {
  return {
    Id: image.id,
    ParentId: image.parent,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Created: Math.floor(Date.parse(image.created) / 1000),
    Size: image.size,
    SharedSize: -1,
    Labels: image.config.config?.Labels ?? {},
    Containers: containers,
  };
}

export function imageInspectOf(image: ImageRecord): ImageInspect {
  const { config } = image;
  const inspect: ImageInspect = {
    Id: image.id,
    RepoTags: image.repoTags,
    RepoDigests: image.repoDigests,
    Parent: image.parent,
    Comment: lastComment(image),
    Created: image.created,
    DockerVersion: '',
    Author: config.author ?? '',
    Config: config.config ?? {},
    Architecture: config.architecture,
    Os: config.os,
    Size: image.size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: image.lastTagTime || '0001-01-01T00:00:00Z' },
  };
  if (config.variant) inspect.Variant = config.variant;
  return inspect;
}

function lastComment(image: ImageRecord): string {
  const history = image.config.history ?? [];
  return history[history.length - 1]?.comment ?? '';
}
