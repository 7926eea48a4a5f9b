/**
 * Loading a project as Docker Compose does: find the files, read `.env`, then for each
 * file parse, validate against the spec, interpolate, resolve `include` and `extends`;
 * merge the files in order, apply profiles, normalize, and check references and cycles.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { EnvFileError, readEnvFile } from './env-file.js';
import { interpolateTree, type Lookup } from './interpolate.js';
import { mergeFiles, mergeRecords } from './merge.js';
import {
  type FileObjectConfig,
  type NetworkConfig,
  type Project,
  ProjectError,
  type ServiceConfig,
  type VolumeConfig,
} from './model.js';
import { normalizeService } from './normalize.js';
import { validateComposeFile } from './schema.js';

type Raw = Record<string, unknown>;

export interface LoadOptions {
  /** `-f`, in order; empty means discovery from `cwd` upwards. */
  files: string[];
  projectName?: string;
  projectDirectory?: string;
  envFiles: string[];
  profiles: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}

const CANDIDATES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const OVERRIDES = [
  'compose.override.yaml',
  'compose.override.yml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
];

function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The first directory from `cwd` upwards that holds a compose file: its file and override. */
export function discoverFiles(cwd: string): string[] {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = CANDIDATES.find((name) => existsSync(join(dir, name)));
    if (found !== undefined) {
      const override = OVERRIDES.find((name) => existsSync(join(dir, name)));
      return [join(dir, found), ...(override === undefined ? [] : [join(dir, override)])];
    }
    if (dirname(dir) === dir) throw new ProjectError('no configuration file provided: not found');
  }
}

/** Compose's rule: lowercase letters, digits, dashes and underscores, starting with a letter or digit. */
export function normalizeProjectName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '')
    .replace(/^[_-]+/, '');
}

export function checkProjectName(name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name))
    throw new ProjectError(
      `invalid project name "${name}": must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
    );
  return name;
}

function parseFile(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ProjectError(`open ${file}: no such file or directory`, { cause: e });
    throw e;
  }
  const doc = parseDocument(text, { uniqueKeys: true, merge: true });
  const [first] = doc.errors;
  if (first !== undefined) {
    const line = first.linePos?.[0]?.line;
    throw new ProjectError(
      `failed to parse ${file}: yaml: ${line === undefined ? '' : `line ${line}: `}${first.message.split('\n')[0]}`,
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) throw new ProjectError(`${file}: empty compose file`);
  if (!isRecord(value)) throw new ProjectError(`${file}: top-level object must be a mapping`);
  return value;
}

function absolute(dir: string, path: string): string {
  if (path.startsWith('~') || isAbsolute(path) || /^[a-z]+:\/\//.test(path)) return path;
  return resolve(dir, path);
}

/** Makes the relative paths of a service absolute, for a service taken from a file elsewhere. */
function rebaseService(service: Raw, dir: string): Raw {
  const out: Raw = { ...service };
  if (typeof out.build === 'string') out.build = absolute(dir, out.build);
  else if (isRecord(out.build))
    out.build = { ...out.build, context: absolute(dir, String(out.build.context ?? '.')) };
  if (typeof out.env_file === 'string') out.env_file = absolute(dir, out.env_file);
  else if (Array.isArray(out.env_file))
    out.env_file = out.env_file.map((f) =>
      isRecord(f) ? { ...f, path: absolute(dir, String(f.path)) } : absolute(dir, String(f)),
    );
  if (Array.isArray(out.volumes))
    out.volumes = out.volumes.map((v) => {
      if (typeof v === 'string') {
        const [source, ...rest] = v.split(':');
        return rest.length > 0 && source?.startsWith('.') ? [absolute(dir, source), ...rest].join(':') : v;
      }
      if (isRecord(v) && v.type === 'bind' && typeof v.source === 'string')
        return { ...v, source: absolute(dir, v.source) };
      return v;
    });
  return out;
}

function rebaseFileObjects(section: unknown, dir: string): unknown {
  if (!isRecord(section)) return section;
  return Object.fromEntries(
    Object.entries(section).map(([k, v]) => [
      k,
      isRecord(v) && typeof v.file === 'string' ? { ...v, file: absolute(dir, v.file) } : v,
    ]),
  );
}

class FileLoader {
  constructor(private readonly lookup: Lookup) {}

  /** Parse, validate, interpolate one file; then its `include`s and `extends`. Paths come back absolute. */
  load(file: string, seen: string[] = []): Raw {
    if (seen.includes(file))
      throw new ProjectError(`include cycle detected: ${[...seen, file].join(' -> ')}`);
    const parsed = parseFile(file);
    validateComposeFile(file, parsed);
    const dir = dirname(file);
    const model = interpolateTree(parsed, this.lookup) as Raw;
    const services: Raw = {};
    for (const name of Object.keys(isRecord(model.services) ? model.services : {}))
      services[name] = rebaseService(this.resolveExtends(file, name, model, [file]), dir);
    let out: Raw = {
      ...model,
      services,
      secrets: rebaseFileObjects(model.secrets, dir),
      configs: rebaseFileObjects(model.configs, dir),
    };
    for (const sub of this.includes(model.include, dir)) {
      const included = this.load(sub, [...seen, file]);
      for (const section of ['services', 'networks', 'volumes', 'secrets', 'configs']) {
        const mine = isRecord(out[section]) ? (out[section] as Raw) : {};
        for (const name of Object.keys(isRecord(included[section]) ? (included[section] as Raw) : {}))
          if (name in mine) throw new ProjectError(`${section}.${name} conflicts with imported resource`);
      }
      out = mergeFiles({ ...included, name: undefined }, out);
    }
    delete out.include;
    return out;
  }

  private includes(include: unknown, dir: string): string[] {
    if (!Array.isArray(include)) return [];
    return include.flatMap((item) => {
      const paths = isRecord(item) ? item.path : item;
      return (Array.isArray(paths) ? paths : [paths]).map((p) => absolute(dir, String(p)));
    });
  }

  private resolveExtends(file: string, name: string, model: Raw, chain: string[]): Raw {
    const services = isRecord(model.services) ? model.services : {};
    const service = services[name];
    if (!isRecord(service))
      throw new ProjectError(`cannot extend service "${name}" in ${file}: service not found`);
    const ext = service.extends;
    if (ext === undefined) return service;
    const target = typeof ext === 'string' ? { service: ext } : (ext as { service: string; file?: string });
    const key = `${target.file === undefined ? file : absolute(dirname(file), target.file)}#${target.service}`;
    if (chain.includes(key))
      throw new ProjectError(`circular reference with extends: ${[...chain, key].join(' -> ')}`);
    let base: Raw;
    if (target.file === undefined) {
      base = this.resolveExtends(file, target.service, model, [...chain, key]);
    } else {
      const other = absolute(dirname(file), target.file);
      const parsed = parseFile(other);
      validateComposeFile(other, parsed);
      const otherModel = interpolateTree(parsed, this.lookup) as Raw;
      base = rebaseService(
        this.resolveExtends(other, target.service, otherModel, [...chain, key]),
        dirname(other),
      );
    }
    const { extends: _, ...own } = service;
    // depends_on is not inherited, as the spec says.
    const { depends_on: __, ...inherited } = base;
    return mergeRecords(inherited, own);
  }
}

/** Service names in an order where each comes after what it depends on; a cycle is an error. */
export function dependencyOrder(services: Record<string, ServiceConfig>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new ProjectError(`dependency cycle detected: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    for (const dep of Object.keys(services[name]?.depends_on ?? {}))
      if (services[dep]) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(services).sort()) visit(name, []);
  return order;
}

function checkReferences(project: Project): void {
  for (const service of Object.values(project.services)) {
    for (const [dep, spec] of Object.entries(service.depends_on ?? {})) {
      if (!project.services[dep] && spec.required && !project.disabledServices[dep])
        throw new ProjectError(
          `service "${service.name}" depends on undefined service "${dep}": invalid compose project`,
        );
    }
    for (const net of Object.keys(service.networks ?? {})) {
      if (!project.networks[net])
        throw new ProjectError(
          `service "${service.name}" refers to undefined network ${net}: invalid compose project`,
        );
    }
    for (const volume of service.volumes ?? []) {
      if (volume.type === 'volume' && volume.source !== undefined && !project.volumes[volume.source])
        throw new ProjectError(
          `service "${service.name}" refers to undefined volume ${volume.source}: invalid compose project`,
        );
    }
    for (const kind of ['secrets', 'configs'] as const)
      for (const ref of service[kind] ?? [])
        if (!project[kind][ref.source])
          throw new ProjectError(
            `service "${service.name}" refers to undefined ${kind.slice(0, -1)} ${ref.source}: invalid compose project`,
          );
    if (service.image === undefined && service.build === undefined)
      throw new ProjectError(
        `service "${service.name}" has neither an image nor a build context specified: invalid compose project`,
      );
  }
  dependencyOrder(project.services);
}

function namedSection<T extends { name: string }>(
  section: unknown,
  project: string,
  fallback?: Raw,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [key, value] of Object.entries({ ...fallback, ...(isRecord(section) ? section : {}) })) {
    const raw = isRecord(value) ? value : {};
    const external = raw.external === true || isRecord(raw.external);
    const name = typeof raw.name === 'string' ? raw.name : external ? key : `${project}_${key}`;
    out[key] = { ...raw, name, ...(external ? { external: true } : {}) } as T;
  }
  return out;
}

/** Loads and resolves a project; every error is thrown before anything is created. */
export function loadProject(opts: LoadOptions): Project {
  const envFromOs = (name: string) => opts.env[name];
  const composeFileEnv = opts.env.COMPOSE_FILE;
  let files = opts.files.map((f) => resolve(opts.cwd, f));
  const projectDir = resolve(opts.cwd, opts.projectDirectory ?? (files[0] ? dirname(files[0]) : '.'));

  // .env (or --env-file) gives defaults; the process environment wins over it.
  const dotenv: Record<string, string> = {};
  const envFiles = opts.envFiles.length > 0 ? opts.envFiles.map((f) => resolve(opts.cwd, f)) : [];
  for (const f of envFiles) {
    if (!existsSync(f)) throw new EnvFileError(`couldn't find env file: ${f}`);
    Object.assign(dotenv, readEnvFile(f, envFromOs));
  }
  if (files.length === 0 && composeFileEnv === undefined) files = discoverFiles(opts.cwd);
  const baseDir =
    opts.projectDirectory !== undefined || files[0] === undefined ? projectDir : dirname(files[0]);
  if (envFiles.length === 0 && existsSync(join(baseDir, '.env')))
    Object.assign(dotenv, readEnvFile(join(baseDir, '.env'), envFromOs));
  const lookup: Lookup = (name) => opts.env[name] ?? dotenv[name];
  if (files.length === 0) {
    const fromEnv = lookup('COMPOSE_FILE');
    files = fromEnv
      ? fromEnv.split(lookup('COMPOSE_PATH_SEPARATOR') ?? ':').map((f) => resolve(opts.cwd, f))
      : discoverFiles(opts.cwd);
  }
  const workingDir = opts.projectDirectory !== undefined ? projectDir : dirname(files[0] as string);

  const loader = new FileLoader(lookup);
  let merged: Raw = {};
  for (const file of files) merged = mergeFiles(merged, loader.load(file));

  const fromFlag = opts.projectName;
  const fromEnv = lookup('COMPOSE_PROJECT_NAME');
  const name =
    fromFlag !== undefined
      ? checkProjectName(fromFlag)
      : fromEnv !== undefined && fromEnv !== ''
        ? checkProjectName(fromEnv)
        : typeof merged.name === 'string' && merged.name !== ''
          ? checkProjectName(merged.name)
          : normalizeProjectName(basename(workingDir));
  if (name === '') throw new ProjectError(`project name must not be empty`);

  const profiles = new Set([
    ...opts.profiles,
    ...(lookup('COMPOSE_PROFILES') ?? '').split(',').filter((p) => p !== ''),
  ]);
  const services: Record<string, ServiceConfig> = {};
  const disabledServices: Record<string, ServiceConfig> = {};
  for (const [key, raw] of Object.entries(isRecord(merged.services) ? merged.services : {})) {
    const service = normalizeService(key, raw as Raw, workingDir, lookup);
    const wanted = service.profiles ?? [];
    if (wanted.length === 0 || profiles.has('*') || wanted.some((p) => profiles.has(p)))
      services[key] = service;
    else disabledServices[key] = service;
  }
  const usesDefault = Object.values(services).some((s) => s.networks && 'default' in s.networks);
  const project: Project = {
    name,
    workingDir,
    configFiles: files,
    services,
    disabledServices,
    networks: namedSection<NetworkConfig>(merged.networks, name, usesDefault ? { default: {} } : {}),
    volumes: namedSection<VolumeConfig>(merged.volumes, name),
    secrets: namedSection<FileObjectConfig>(merged.secrets, name),
    configs: namedSection<FileObjectConfig>(merged.configs, name),
    environment: Object.fromEntries(
      Object.entries({ ...dotenv, ...opts.env }).filter((e): e is [string, string] => e[1] !== undefined),
    ),
  };
  checkReferences(project);
  return project;
}
