/**
 * Short syntaxes to long ones, relative paths to absolute ones: the step between a
 * merged file and the model the commands use.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { readEnvFile } from './env-file.js';
import type { Lookup } from './interpolate.js';
import {
  type DependsOn,
  type PortConfig,
  ProjectError,
  type ServiceConfig,
  type ServiceNetwork,
  type ServiceVolume,
} from './model.js';

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `["A=1", "B"]` or `{A: 1}` -> `{A: "1", B: null}`: values become strings as compose makes them. */
export function toMapping(value: unknown, separator = '='): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const at = text.indexOf(separator);
      if (at < 0) out[text] = null;
      else out[text.slice(0, at)] = text.slice(at + 1);
    }
  } else if (isRecord(value)) {
    for (const [k, v] of Object.entries(value)) out[k] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** Splits a command line as a POSIX shell would, quotes and backslashes included (no expansion). */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1] as string))
        word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined)
    throw new ProjectError(`invalid command line ${JSON.stringify(text)}: unterminated quote`);
  if (inWord) words.push(word);
  return words;
}

function commandOf(value: unknown): string[] | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (Array.isArray(value)) return value.map(String);
  return shellSplit(String(value));
}

/** `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]` -> one entry per container port. */
export function parsePortSpec(spec: string): PortConfig[] {
  const [body = '', protocol = 'tcp'] = spec.split('/');
  let hostIp: string | undefined;
  let rest = body;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(rest);
  if (bracket) {
    hostIp = bracket[1];
    rest = bracket[2] ?? '';
  }
  const parts = rest.split(':');
  if (parts.length > 3 || parts.some((p, i) => p === '' && i === parts.length - 1))
    throw new ProjectError(`invalid port specification: ${JSON.stringify(spec)}`);
  const container = parts[parts.length - 1] as string;
  const published = parts.length >= 2 ? parts[parts.length - 2] : undefined;
  if (parts.length === 3) hostIp = parts[0];
  const range = (text: string): [number, number] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(text);
    if (!m) throw new ProjectError(`invalid port specification: ${JSON.stringify(spec)}`);
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start < 1 || end > 65535 || end < start)
      throw new ProjectError(`invalid port specification: ${JSON.stringify(spec)}`);
    return [start, end];
  };
  const [cStart, cEnd] = range(container);
  const hostRange = published === undefined || published === '' ? undefined : range(published);
  const ports: PortConfig[] = [];
  for (let p = cStart; p <= cEnd; p++) {
    const port: PortConfig = { mode: 'ingress', target: p, protocol };
    if (hostIp !== undefined && hostIp !== '') port.host_ip = hostIp;
    if (hostRange) {
      const [hStart, hEnd] = hostRange;
      // A host range wider than the container's is a choice for the daemon: keep it whole.
      port.published = cStart === cEnd && hEnd > hStart ? `${hStart}-${hEnd}` : String(hStart + (p - cStart));
    }
    ports.push(port);
  }
  return ports;
}

function normalizePorts(value: unknown): PortConfig[] {
  const out: PortConfig[] = [];
  for (const item of Array.isArray(value) ? value : []) {
    if (typeof item === 'number') out.push({ mode: 'ingress', target: item, protocol: 'tcp' });
    else if (typeof item === 'string') out.push(...parsePortSpec(item));
    else if (isRecord(item)) {
      const port: PortConfig = {
        mode: String(item.mode ?? 'ingress'),
        target: Number(item.target),
        protocol: String(item.protocol ?? 'tcp'),
      };
      if (item.published !== undefined && item.published !== null) port.published = String(item.published);
      if (typeof item.host_ip === 'string') port.host_ip = item.host_ip;
      out.push(port);
    }
  }
  return out;
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

function isPathSource(source: string): boolean {
  return source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
}

function resolvePath(dir: string, path: string): string {
  const expanded = expandHome(path);
  return isAbsolute(expanded) ? expanded : resolve(dir, expanded);
}

/** `[SOURCE:]TARGET[:MODE]` and the long form; bind sources resolved against `dir`. */
export function normalizeVolume(item: unknown, dir: string): ServiceVolume {
  if (typeof item === 'string') {
    const parts = item.split(':');
    if (parts.length === 1) return { type: 'volume', target: item };
    const [source = '', target = '', mode = ''] = parts;
    if (parts.length > 3 || target === '')
      throw new ProjectError(`invalid volume specification: ${JSON.stringify(item)}`);
    const modes = mode.split(',');
    const volume: ServiceVolume = isPathSource(source)
      ? { type: 'bind', source: resolvePath(dir, source), target, bind: { create_host_path: true } }
      : { type: 'volume', source, target };
    if (modes.includes('ro')) volume.read_only = true;
    if (modes.includes('nocopy')) volume.volume = { nocopy: true };
    return volume;
  }
  const raw = item as Raw;
  const type = String(raw.type ?? 'volume') as ServiceVolume['type'];
  const volume: ServiceVolume = { ...(raw as object), type, target: String(raw.target) } as ServiceVolume;
  if (type === 'bind' && typeof raw.source === 'string') volume.source = resolvePath(dir, raw.source);
  return volume;
}

function normalizeNetworks(value: unknown): Record<string, ServiceNetwork | null> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((n) => [String(n), null]));
  const out: Record<string, ServiceNetwork | null> = {};
  for (const [name, v] of Object.entries(isRecord(value) ? value : {}))
    out[name] = isRecord(v) ? (v as ServiceNetwork) : null;
  return out;
}

function normalizeDependsOn(value: unknown): Record<string, DependsOn> {
  if (Array.isArray(value))
    return Object.fromEntries(
      value.map((s) => [String(s), { condition: 'service_started', required: true }]),
    );
  const out: Record<string, DependsOn> = {};
  for (const [name, v] of Object.entries(isRecord(value) ? value : {})) {
    const raw = isRecord(v) ? v : {};
    out[name] = {
      ...(raw as object),
      condition: (raw.condition as DependsOn['condition'] | undefined) ?? 'service_started',
      required: raw.required === undefined ? true : Boolean(raw.required),
    };
  }
  return out;
}

function stringList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

function envFilePaths(value: unknown, dir: string): { path: string; required: boolean }[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.map((item) =>
    isRecord(item)
      ? { path: resolvePath(dir, String(item.path)), required: item.required !== false }
      : { path: resolvePath(dir, String(item)), required: true },
  );
}

/**
 * One merged service -> its long form. `dir` is where its file lives (relative paths
 * start there), `lookup` gives values to `environment: [NAME]` entries.
 */
export function normalizeService(name: string, raw: Raw, dir: string, lookup: Lookup): ServiceConfig {
  const service: ServiceConfig = { ...(raw as object), name } as ServiceConfig;
  const command = commandOf(raw.command);
  if (command !== undefined) service.command = command;
  const entrypoint = commandOf(raw.entrypoint);
  if (entrypoint !== undefined) service.entrypoint = entrypoint;

  if (raw.build !== undefined) {
    const build: Raw = typeof raw.build === 'string' ? { context: raw.build } : { ...(raw.build as Raw) };
    const context = String(build.context ?? '.');
    const out: Raw = {
      ...build,
      context: /^[a-z]+:\/\//.test(context) ? context : resolvePath(dir, context),
    };
    out.dockerfile = String(build.dockerfile ?? 'Dockerfile');
    if (build.args !== undefined) out.args = toMapping(build.args);
    service.build = out as ServiceConfig['build'] & object;
  }

  const environment: Record<string, string | null> = {};
  if (raw.env_file !== undefined) {
    for (const file of envFilePaths(raw.env_file, dir)) {
      try {
        Object.assign(environment, readEnvFile(file.path, lookup));
      } catch (e) {
        if (file.required) throw e;
      }
    }
    delete service.env_file;
  }
  for (const [k, v] of Object.entries(toMapping(raw.environment))) {
    environment[k] = v ?? lookup(k) ?? null;
  }
  if (Object.keys(environment).length > 0 || raw.environment !== undefined) service.environment = environment;

  if (raw.labels !== undefined)
    service.labels = Object.fromEntries(Object.entries(toMapping(raw.labels)).map(([k, v]) => [k, v ?? '']));
  if (raw.ports !== undefined) service.ports = normalizePorts(raw.ports);
  if (raw.expose !== undefined) service.expose = stringList(raw.expose);
  if (raw.volumes !== undefined)
    service.volumes = (raw.volumes as unknown[]).map((v) => normalizeVolume(v, dir));
  for (const key of [
    'tmpfs',
    'dns',
    'dns_search',
    'dns_opt',
    'cap_add',
    'cap_drop',
    'security_opt',
    'profiles',
  ]) {
    if (raw[key] !== undefined) service[key] = stringList(raw[key]);
  }
  if (raw.extra_hosts !== undefined) {
    service.extra_hosts = Array.isArray(raw.extra_hosts)
      ? raw.extra_hosts.map((h) => String(h).replace('=', ':'))
      : Object.entries(toMapping(raw.extra_hosts)).map(([host, ip]) => `${host}:${ip ?? ''}`);
  }
  if (raw.sysctls !== undefined) service.sysctls = toMapping(raw.sysctls);
  if (raw.network_mode === undefined) service.networks = normalizeNetworks(raw.networks ?? ['default']);
  if (raw.depends_on !== undefined) service.depends_on = normalizeDependsOn(raw.depends_on);
  if (raw.healthcheck !== undefined && isRecord(raw.healthcheck)) {
    const hc = { ...raw.healthcheck };
    if (typeof hc.test === 'string') hc.test = ['CMD-SHELL', hc.test];
    service.healthcheck = hc;
  }
  for (const key of ['secrets', 'configs'] as const) {
    if (Array.isArray(raw[key]))
      service[key] = (raw[key] as unknown[]).map((s) =>
        isRecord(s) ? (s as { source: string }) : { source: String(s) },
      );
  }
  if (typeof raw.scale === 'string') service.scale = Number(raw.scale);
  return service;
}
