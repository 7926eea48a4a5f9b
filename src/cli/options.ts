import type { Filters } from '../client/index.js';
import { UsageError } from './errors.js';

/** Commander reducer for flags that may be given many times (`-e A -e B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n))
    throw new UsageError(`invalid argument "${value}": strconv.ParseInt: parsing "${value}": invalid syntax`);
  return n;
}

/** `--filter name=value`, repeated, as the `{"name": ["value", ...]}` the API takes. */
export function parseFilters(args: string[] | undefined): Filters {
  const filters: Filters = {};
  for (const arg of args ?? []) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new UsageError(`bad format of filter (expected name=value)`);
    const name = arg.slice(0, eq).trim().toLowerCase();
    filters[name] = [...(filters[name] ?? []), arg.slice(eq + 1).trim()];
  }
  return filters;
}

/** Splits `REPO[:TAG]` where a colon before the last slash belongs to a registry port. */
export function splitRepoTag(ref: string): { repo: string; tag: string | undefined } {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/') && colon >= 0)
    return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: undefined };
}
