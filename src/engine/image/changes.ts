import { posix } from 'node:path';
import type { ImageRuntimeConfig } from '../../api/index.js';
import { InvalidArgumentError } from '../../api/index.js';

/**
 * Applies `docker import --change` lines (Dockerfile instructions) to a config:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL.
 */
export function applyChanges(config: ImageRuntimeConfig, changes: readonly string[]): ImageRuntimeConfig {
  const result: ImageRuntimeConfig = { ...config };
  for (const line of changes) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const match = /^(\S+)\s*(.*)$/s.exec(trimmed);
    const instruction = (match?.[1] ?? '').toUpperCase();
    const rest = (match?.[2] ?? '').trim();
    switch (instruction) {
      case 'CMD':
        result.Cmd = commandOf(rest);
        break;
      case 'ENTRYPOINT':
        result.Entrypoint = commandOf(rest);
        break;
      case 'ENV':
        result.Env = mergeEnv(result.Env ?? [], keyValuePairs(rest, 'ENV'));
        break;
      case 'LABEL':
        result.Labels = { ...(result.Labels ?? {}), ...Object.fromEntries(keyValuePairs(rest, 'LABEL')) };
        break;
      case 'EXPOSE': {
        const ports = { ...(result.ExposedPorts ?? {}) };
        for (const word of splitWords(rest)) for (const port of exposedPorts(word)) ports[port] = {};
        result.ExposedPorts = ports;
        break;
      }
      case 'USER':
        result.User = required(rest, 'USER');
        break;
      case 'WORKDIR':
        // As in a Dockerfile, a relative WORKDIR continues from the previous one.
        result.WorkingDir = posix.resolve(result.WorkingDir || '/', required(rest, 'WORKDIR'));
        break;
      case 'VOLUME': {
        const volumes = { ...(result.Volumes ?? {}) };
        for (const path of jsonArray(rest) ?? splitWords(rest)) volumes[path] = {};
        result.Volumes = volumes;
        break;
      }
      case 'STOPSIGNAL':
        result.StopSignal = required(rest, 'STOPSIGNAL');
        break;
      default:
        throw new InvalidArgumentError(`${instruction || line} is not a valid change command`);
    }
  }
  return result;
}

function required(value: string, instruction: string): string {
  if (value === '') throw new InvalidArgumentError(`${instruction} requires exactly one argument`);
  return value;
}

/** JSON (exec) form as is; shell form runs through /bin/sh -c, as Dockerfiles do. */
function commandOf(rest: string): string[] {
  return jsonArray(rest) ?? ['/bin/sh', '-c', rest];
}

function jsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // Not JSON: Docker then treats the text as shell form.
  }
  return undefined;
}

function mergeEnv(env: readonly string[], pairs: [string, string][]): string[] {
  const result = [...env];
  for (const [key, value] of pairs) {
    const at = result.findIndex((e) => e === key || e.startsWith(`${key}=`));
    if (at === -1) result.push(`${key}=${value}`);
    else result[at] = `${key}=${value}`;
  }
  return result;
}

/** `k=v k2="v 2"`, or the legacy single-pair form `k some value`. */
function keyValuePairs(rest: string, instruction: string): [string, string][] {
  const words = splitWords(rest);
  if (words.length === 0) throw new InvalidArgumentError(`${instruction} requires at least one argument`);
  if (!(words[0] as string).includes('=')) {
    const key = words[0] as string;
    const value = rest.slice(rest.indexOf(key) + key.length).trim();
    if (value === '') throw new InvalidArgumentError(`${instruction} names can not be blank`);
    return [[key, unquote(value)]];
  }
  return words.map((word): [string, string] => {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`${instruction}: syntax error - can't find = in "${word}"`);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function unquote(text: string): string {
  const words = splitWords(text);
  return words.length === 1 ? (words[0] as string) : text;
}

/** Splits on unquoted whitespace, removing quotes and backslash escapes. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new InvalidArgumentError(`unterminated quote in "${text}"`);
  if (inWord) words.push(current);
  return words;
}

/** `80`, `53/udp`, `8000-8002` (a range is listed port by port, as Docker does). */
function exposedPorts(word: string): string[] {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(word);
  const first = Number(match?.[1]);
  const last = match?.[2] === undefined ? first : Number(match[2]);
  if (!match || first > 65535 || last > 65535 || last < first)
    throw new InvalidArgumentError(`invalid containerPort: ${word}`);
  const protocol = (match[3] ?? 'tcp').toLowerCase();
  const ports: string[] = [];
  for (let port = first; port <= last; port++) ports.push(`${port}/${protocol}`);
  return ports;
}
