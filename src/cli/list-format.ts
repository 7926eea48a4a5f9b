import { alignColumns } from './format.js';
import { parseGoTemplate, type TemplateFunction } from './template.js';

export type ListRow = Record<string, unknown>;

export interface ListFormat {
  /** The user's `--format`, or '' for the command's default. */
  format: string;
  defaultFormat: string;
  /** Column titles by field name, used for the header of `table` formats. */
  headers: Record<string, string>;
}

/** Docker lets users type `\t` and `\n` in a shell string and means tab and newline. */
function expandEscapes(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/**
 * Renders rows as docker renders `ps`, `images` and friends: `table ...` gets a header
 * row and aligned columns, `json` is one JSON object a line, anything else is a
 * template applied to each row.
 */
export function renderList(rows: ListRow[], spec: ListFormat): string {
  let format = spec.format === '' ? spec.defaultFormat : spec.format;
  if (format === 'json') format = '{{json .}}';
  const isTable = format.startsWith('table');
  if (isTable) format = format.slice('table'.length).replace(/^\s/, '');
  const template = parseGoTemplate(expandEscapes(format));
  const lines = rows.map((row) => template.execute(row));
  if (!isTable) return lines.map((l) => `${l}\n`).join('');
  const headerRow: Record<string, string | TemplateFunction> = { ...spec.headers };
  for (const [key, value] of Object.entries(rows[0] ?? {})) {
    if (typeof value === 'function') headerRow[key] = () => spec.headers[key] ?? key.toUpperCase();
  }
  const header = template.execute(headerRow);
  return `${alignColumns([header, ...lines].join('\n'))}\n`;
}

/** Orders an object's keys as Go's json encoder orders a map's, for `{{json .}}`. */
export function sortedKeys<T extends Record<string, unknown>>(row: T): T {
  return Object.fromEntries(
    Object.keys(row)
      .sort()
      .map((k) => [k, row[k]]),
  ) as T;
}
