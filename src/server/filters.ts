import { InvalidArgumentError } from '../api/index.js';

/** Docker's `filters` query value: `{"key":["a","b"]}` or the older `{"key":{"a":true}}`. */
export type Filters = Record<string, string[]>;

export function parseFilters(raw: string | null, allowed: readonly string[]): Filters {
  if (raw === null || raw === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  const filters: Filters = {};
  for (const [key, entry] of Object.entries(value)) {
    if (!allowed.includes(key)) throw new InvalidArgumentError(`invalid filter '${key}'`);
    if (Array.isArray(entry)) filters[key] = entry.map(String);
    else if (typeof entry === 'object' && entry !== null) filters[key] = Object.keys(entry);
    else throw new InvalidArgumentError(`invalid filter: ${raw}`);
  }
  return filters;
}

/** `label=key` or `label=key=value` against a label map. */
export function matchesLabels(
  labels: Record<string, string>,
  wanted: readonly string[] | undefined,
): boolean {
  if (!wanted) return true;
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq === -1) return w in labels;
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

/** Any of the values matches (Docker ORs values of one key and ANDs keys). */
export function matchesAny(wanted: readonly string[] | undefined, test: (value: string) => boolean): boolean {
  return !wanted || wanted.some(test);
}

/** Docker's time arguments: unix seconds (fractions allowed) or RFC 3339. */
export function parseTimestamp(value: string, name: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`invalid value for ${name}: ${value}`);
  return ms / 1000;
}
