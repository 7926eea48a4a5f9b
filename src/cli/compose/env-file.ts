import { readFileSync } from 'node:fs';
import { interpolate, type Lookup } from './interpolate.js';

export class EnvFileError extends Error {
  override name = 'EnvFileError';
}

function unquoteDouble(text: string): string {
  return text.replace(/\\([nrt"\\$])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c);
}

/**
 * Parses a `.env` file's text as compose does: `KEY=VALUE` lines, `export ` prefixes,
 * `#` comments, single quotes literal, double quotes with escapes, and unquoted or
 * double-quoted values interpolated against what came before (then `outer`).
 */
export function parseEnvText(
  text: string,
  source: string,
  outer: Lookup = () => undefined,
): Record<string, string> {
  const vars: Record<string, string> = {};
  const lookup: Lookup = (name) => vars[name] ?? outer(name);
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice('export '.length).trimStart() : line;
    const eq = body.indexOf('=');
    const key = (eq < 0 ? body : body.slice(0, eq)).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key))
      throw new EnvFileError(
        `failed to read ${source}: line ${index + 1}: unexpected character in variable name "${key}"`,
      );
    if (eq < 0) {
      // A bare name takes its value from the environment, if there is one.
      const inherited = outer(key);
      if (inherited !== undefined) vars[key] = inherited;
      return;
    }
    const value = body.slice(eq + 1).trim();
    if (value.startsWith("'")) {
      const end = value.indexOf("'", 1);
      vars[key] = end < 0 ? value.slice(1) : value.slice(1, end);
    } else if (value.startsWith('"')) {
      const match = /^"((?:[^"\\]|\\.)*)"/.exec(value);
      vars[key] = interpolate(unquoteDouble(match ? (match[1] ?? '') : value.slice(1)), lookup);
    } else {
      vars[key] = interpolate(value.replace(/\s+#.*$/, ''), lookup);
    }
  });
  return vars;
}

/** Reads one env file; `missing` says what to do when it does not exist. */
export function readEnvFile(path: string, outer?: Lookup): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new EnvFileError(`env file ${path} not found: stat ${path}: no such file or directory`, {
        cause: e,
      });
    throw e;
  }
  return parseEnvText(text, path, outer);
}
