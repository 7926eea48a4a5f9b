/**
 * The spec's merge rules for `-f a -f b`, `extends` and overrides: mappings merge key
 * by key, a few sequences replace (commands), some merge by a key (ports, volumes by
 * target), others append without duplicates; scalars are overridden.
 */
import { toMapping } from './normalize.js';

type Raw = Record<string, unknown>;

function isRecord(value: unknown): value is Raw {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Keys whose list form is a mapping in disguise: merged as mappings. */
const MAPPING_KEYS = new Set(['environment', 'labels', 'sysctls', 'annotations']);
const REPLACED_KEYS = new Set(['command', 'entrypoint', 'test', 'dns', 'dns_search', 'dns_opt', 'tmpfs']);

function volumeTarget(item: unknown): string {
  if (isRecord(item)) return String(item.target);
  const parts = String(item).split(':');
  return parts.length === 1 ? (parts[0] as string) : (parts[1] as string);
}

function mergeByKey(base: unknown[], over: unknown[], key: (item: unknown) => string): unknown[] {
  const merged = new Map<string, unknown>();
  for (const item of [...base, ...over]) merged.set(key(item), item);
  return [...merged.values()];
}

function appendUnique(base: unknown[], over: unknown[]): unknown[] {
  const seen = new Set(base.map((item) => JSON.stringify(item)));
  return [...base, ...over.filter((item) => !seen.has(JSON.stringify(item)))];
}

function asMapping(value: unknown): Raw {
  return Array.isArray(value) ? toMapping(value) : (value as Raw);
}

/** `depends_on`/`networks` may be lists; as mappings they merge by name. */
function listToKeys(value: unknown): Raw {
  return Array.isArray(value) ? Object.fromEntries(value.map((v) => [String(v), null])) : (value as Raw);
}

function mergeValue(key: string, base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (base === undefined || base === null || over === null) return over;
  if (MAPPING_KEYS.has(key)) return { ...asMapping(base), ...asMapping(over) };
  if (key === 'depends_on' || key === 'networks') return mergeRecords(listToKeys(base), listToKeys(over));
  if (key === 'build' && (typeof base === 'string' || typeof over === 'string')) {
    const b = typeof base === 'string' ? { context: base } : base;
    const o = typeof over === 'string' ? { context: over } : over;
    return mergeRecords(b as Raw, o as Raw);
  }
  if (Array.isArray(base) && Array.isArray(over)) {
    if (REPLACED_KEYS.has(key)) return over;
    if (key === 'volumes') return mergeByKey(base, over, volumeTarget);
    if (key === 'secrets' || key === 'configs')
      return mergeByKey(base, over, (s) => (isRecord(s) ? String(s.source) : String(s)));
    return appendUnique(base, over);
  }
  if (isRecord(base) && isRecord(over)) return mergeRecords(base, over);
  return over;
}

export function mergeRecords(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = mergeValue(key, base[key], value);
  return out;
}

/** Merges whole files: top-level sections by name, each service by the rules above. */
export function mergeFiles(base: Raw, over: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (isRecord(value) && isRecord(base[key])) {
      const section: Raw = { ...(base[key] as Raw) };
      for (const [name, item] of Object.entries(value)) {
        const prior = section[name];
        section[name] = isRecord(prior) && isRecord(item) ? mergeRecords(prior, item) : item;
      }
      out[key] = section;
    } else {
      out[key] = value;
    }
  }
  return out;
}
