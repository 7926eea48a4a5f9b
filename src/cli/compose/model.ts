/**
 * The resolved compose model: every file merged, interpolated and normalized to the
 * spec's long forms (what `compose config` prints). Key names stay as the spec spells them.
 */

export interface PortConfig {
  target: number;
  published?: string;
  host_ip?: string;
  protocol: string;
  mode: string;
}

export interface ServiceVolume {
  type: 'volume' | 'bind' | 'tmpfs';
  source?: string;
  target: string;
  read_only?: boolean;
  bind?: { create_host_path?: boolean };
  volume?: { nocopy?: boolean };
  tmpfs?: { size?: number | string };
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  required: boolean;
  restart?: boolean;
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
}

export interface BuildConfig {
  context: string;
  dockerfile?: string;
  args?: Record<string, string | null>;
  target?: string;
  [key: string]: unknown;
}

export interface HealthcheckConfig {
  test?: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
  disable?: boolean;
}

export interface ServiceConfig {
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: ServiceVolume[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetwork | null>;
  network_mode?: string;
  depends_on?: Record<string, DependsOn>;
  healthcheck?: HealthcheckConfig;
  restart?: string;
  deploy?: {
    replicas?: number;
    resources?: {
      limits?: { cpus?: string | number; memory?: string; pids?: number };
      reservations?: { cpus?: string | number; memory?: string };
    };
    restart_policy?: { condition?: string; max_attempts?: number };
    [key: string]: unknown;
  };
  scale?: number;
  labels?: Record<string, string>;
  profiles?: string[];
  container_name?: string;
  secrets?: { source: string; target?: string }[];
  configs?: { source: string; target?: string }[];
  [key: string]: unknown;
}

export interface NetworkConfig {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv6?: boolean;
  ipam?: { driver?: string; config?: { subnet?: string; gateway?: string; ip_range?: string }[] };
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface VolumeConfig {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  [key: string]: unknown;
}

export interface Project {
  name: string;
  workingDir: string;
  configFiles: string[];
  services: Record<string, ServiceConfig>;
  /** Services left out by profiles; their containers are not orphans. */
  disabledServices: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
  /** The variables interpolation used (environment over `.env`). */
  environment: Record<string, string>;
}

export class ProjectError extends Error {
  override name = 'ProjectError';
}
