import type { HealthConfig, ImageRuntimeConfig } from '../../api/index.js';
import { InvalidArgumentError, parseGoDurationNs } from '../../api/index.js';
import { type Instruction, parseJsonForm } from './dockerfile.js';
import { expandWord, expandWords, splitRawWords, type Variables } from './substitute.js';

/**
 * The instructions that only change the image config (no layer): each takes the
 * config so far and returns the next one. Variable expansion follows Docker's list
 * of instructions that substitute (ENV, LABEL, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL).
 */
export interface ConfigStepContext {
  vars: Variables;
  escape: string;
  shell: string[];
  /** Whether CMD was set in this stage: ENTRYPOINT clears an inherited CMD only. */
  isCmdSet: boolean;
}

export const CONFIG_KEYWORDS = new Set([
  'ENV',
  'LABEL',
  'CMD',
  'ENTRYPOINT',
  'EXPOSE',
  'VOLUME',
  'USER',
  'WORKDIR',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
  'ONBUILD',
]);

export function applyConfigStep(
  config: ImageRuntimeConfig,
  step: Instruction,
  ctx: ConfigStepContext,
): ImageRuntimeConfig {
  const next: ImageRuntimeConfig = { ...config };
  const word = (text: string) => expandWord(text, ctx.vars, ctx.escape);
  switch (step.keyword) {
    case 'ENV': {
      const env = [...(config.Env ?? [])];
      for (const [key, value] of keyValues(step, ctx)) {
        const at = env.findIndex((e) => e.split('=')[0] === key);
        if (at >= 0) env[at] = `${key}=${value}`;
        else env.push(`${key}=${value}`);
      }
      next.Env = env;
      return next;
    }
    case 'LABEL':
      next.Labels = { ...(config.Labels ?? {}), ...Object.fromEntries(keyValues(step, ctx)) };
      return next;
    case 'CMD':
      next.Cmd = commandOf(step, ctx.shell);
      return next;
    case 'ENTRYPOINT':
      next.Entrypoint = commandOf(step, ctx.shell);
      if (!ctx.isCmdSet) next.Cmd = null;
      return next;
    case 'EXPOSE': {
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const spec of expandWords(step.args, ctx.vars, ctx.escape)) {
        for (const port of exposedPorts(spec)) ports[port] = {};
      }
      next.ExposedPorts = ports;
      return next;
    }
    case 'VOLUME': {
      const volumes = { ...(config.Volumes ?? {}) };
      const paths = step.json ?? expandWords(step.args, ctx.vars, ctx.escape);
      for (const path of paths) {
        if (path.trim() === '') throw new InvalidArgumentError('VOLUME specified can not be an empty string');
        volumes[path] = {};
      }
      next.Volumes = volumes;
      return next;
    }
    case 'USER':
      next.User = word(step.args);
      return next;
    case 'WORKDIR': {
      const dir = word(step.args);
      next.WorkingDir = dir.startsWith('/')
        ? posixClean(dir)
        : posixClean(`${config.WorkingDir || '/'}/${dir}`);
      return next;
    }
    case 'STOPSIGNAL':
      next.StopSignal = word(step.args);
      return next;
    case 'HEALTHCHECK':
      next.Healthcheck = healthcheckOf(step, ctx.shell);
      return next;
    case 'SHELL':
      // SHELL changes how later steps run; Docker also records it in the config.
      next.Shell = shellOf(step);
      return next;
    case 'ONBUILD': {
      const trigger = step.args.trim();
      const keyword = trigger.split(/\s+/)[0]?.toUpperCase() ?? '';
      if (keyword === 'ONBUILD')
        throw new InvalidArgumentError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (keyword === 'FROM' || keyword === 'MAINTAINER') {
        throw new InvalidArgumentError(`${keyword} isn't allowed as an ONBUILD trigger`);
      }
      next.OnBuild = [...(config.OnBuild ?? []), trigger];
      return next;
    }
    default:
      throw new InvalidArgumentError(`not a config instruction: ${step.keyword}`);
  }
}

/** SHELL's argument: the exec form only. */
export function shellOf(step: Instruction): string[] {
  if (!step.json || step.json.length === 0)
    throw new InvalidArgumentError('SHELL requires the arguments to be in JSON form');
  return step.json;
}

/** CMD/ENTRYPOINT/RUN: the exec form as written, the shell form through the stage's shell. */
export function commandOf(step: Instruction, shell: readonly string[]): string[] {
  return step.json ?? [...shell, step.args];
}

/** `ENV a=b c="d e"` pairs, or the legacy `ENV a b c` (one key, the rest its value). */
function keyValues(step: Instruction, ctx: ConfigStepContext): [string, string][] {
  const words = splitRawWords(step.args, ctx.escape);
  const first = words[0] ?? '';
  if (!first.includes('=')) {
    if (step.keyword === 'LABEL' || words.length < 2) {
      throw new InvalidArgumentError(`${step.keyword} must have two arguments`);
    }
    const value = step.args.slice(step.args.indexOf(first) + first.length).trim();
    return [[first, expandWord(value, ctx.vars, ctx.escape)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0)
      throw new InvalidArgumentError(
        `Syntax error - can't find = in "${w}". Must be of the form: name=value`,
      );
    return [
      expandWord(w.slice(0, eq), ctx.vars, ctx.escape),
      expandWord(w.slice(eq + 1), ctx.vars, ctx.escape),
    ];
  });
}

function exposedPorts(spec: string): string[] {
  const match = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(spec);
  if (!match) throw new InvalidArgumentError(`invalid containerPort: ${spec}`);
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  const proto = (match[3] ?? 'tcp').toLowerCase();
  const ports: string[] = [];
  for (let p = first; p <= last; p++) ports.push(`${p}/${proto}`);
  return ports;
}

/** Go's time.ParseDuration, in nanoseconds, as HEALTHCHECK's options are written. */
export function parseDurationNs(text: string): number {
  const ns = parseGoDurationNs(text);
  if (ns === undefined) throw new InvalidArgumentError(`time: invalid duration "${text}"`);
  return ns;
}

function healthcheckOf(step: Instruction, shell: readonly string[]): HealthConfig {
  if (step.args.trim().toUpperCase() === 'NONE') return { Test: ['NONE'] };
  const match = /^CMD\s+([\s\S]+)$/i.exec(step.args.trim());
  if (!match) throw new InvalidArgumentError('Unknown type "" in HEALTHCHECK (try CMD)');
  const command = match[1] as string;
  const json = parseJsonForm(command);
  const health: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', command] };
  void shell;
  for (const flag of step.flags) {
    switch (flag.name) {
      case 'interval':
        health.Interval = parseDurationNs(flag.value);
        break;
      case 'timeout':
        health.Timeout = parseDurationNs(flag.value);
        break;
      case 'start-period':
        health.StartPeriod = parseDurationNs(flag.value);
        break;
      case 'start-interval':
        (health as HealthConfig & { StartInterval?: number }).StartInterval = parseDurationNs(flag.value);
        break;
      case 'retries': {
        const retries = Number(flag.value);
        if (!Number.isInteger(retries) || retries < 0)
          throw new InvalidArgumentError(`invalid retries: ${flag.value}`);
        health.Retries = retries;
        break;
      }
      default:
        throw new InvalidArgumentError(`Unknown flag: ${flag.name}`);
    }
  }
  return health;
}

function posixClean(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}
