/**
 * Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
 * `${VAR:?err}`, `${VAR?err}`, `${VAR:+x}`, `${VAR+x}`, and `$$` for a literal `$`.
 * Defaults and alternatives are interpolated themselves, as in compose-go.
 */

export type Lookup = (name: string) => string | undefined;

export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Index of the `}` that closes the `${` whose body starts at `from`, nesting included. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function expandBraced(body: string, lookup: Lookup): string {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) throw new InterpolationError(`invalid interpolation format for "\${${body}}"`);
  const rest = body.slice(name.length);
  const value = lookup(name);
  if (rest === '') return value ?? '';
  const colon = rest.startsWith(':');
  const op = rest[colon ? 1 : 0];
  const arg = rest.slice(colon ? 2 : 1);
  // With a colon, an empty value counts as unset.
  const isSet = colon ? value !== undefined && value !== '' : value !== undefined;
  switch (op) {
    case '-':
      return isSet ? (value ?? '') : interpolate(arg, lookup);
    case '?':
      if (isSet) return value ?? '';
      throw new InterpolationError(
        `required variable ${name} is missing a value${arg === '' ? '' : `: ${interpolate(arg, lookup)}`}`,
      );
    case '+':
      return isSet ? interpolate(arg, lookup) : '';
    default:
      throw new InterpolationError(`invalid interpolation format for "\${${body}}"`);
  }
}

/** Expands the variables in one string. */
export function interpolate(text: string, lookup: Lookup): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const end = closingBrace(text, dollar + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format for "${text}": missing "}"`);
      out += expandBraced(text.slice(dollar + 2, end), lookup);
      i = end + 1;
    } else {
      const name = NAME.exec(text.slice(dollar + 1))?.[0];
      if (name === undefined) {
        out += '$';
        i = dollar + 1;
      } else {
        out += lookup(name) ?? '';
        i = dollar + 1 + name.length;
      }
    }
  }
  return out;
}

/**
 * Interpolates every string value of a parsed file (keys stay as written). Errors name
 * the path, as compose's do: `error while interpolating services.web.image: ...`.
 */
export function interpolateTree(value: unknown, lookup: Lookup, path: string[] = []): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, lookup);
    } catch (e) {
      if (!(e instanceof InterpolationError)) throw e;
      throw new InterpolationError(`error while interpolating ${path.join('.')}: ${e.message}`, { cause: e });
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateTree(item, lookup, [...path, `[${i}]`]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, lookup, [...path, k]);
    return out;
  }
  return value;
}
