/**
 * A subset of Go's text/template, enough for the `--format` strings people pass to
 * docker: fields (`.State.Running`), pipelines (`.Names | upper`), function calls
 * (`json .`, `index .Config.Labels "k"`, `join .Args ","`, `printf "%s" .Name`),
 * parentheses, `if`/`else if`/`else`, `range`, `with`, and `{{-`/`-}}` trimming.
 * Values print as Go's `%v` would print JSON-decoded data.
 */

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export type TemplateFunction = (...args: unknown[]) => unknown;

type Operand =
  | { kind: 'field'; base: 'dot' | Pipeline | 'root'; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'function'; name: string }
  | { kind: 'pipeline'; pipeline: Pipeline };
type Command = Operand[];
type Pipeline = Command[];
type TemplateNode =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipeline: Pipeline; body: TemplateNode[]; otherwise: TemplateNode[] };

// ---- lexing --------------------------------------------------------------------

type Piece = { kind: 'text'; text: string } | { kind: 'action'; source: string };

function splitActions(source: string): Piece[] {
  const pieces: Piece[] = [];
  let rest = source;
  while (rest !== '') {
    const open = rest.indexOf('{{');
    if (open < 0) {
      pieces.push({ kind: 'text', text: rest });
      break;
    }
    let text = rest.slice(0, open);
    let inner = rest.slice(open + 2);
    if (/^- /.test(inner)) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(2);
    }
    const close = findClose(inner);
    if (close < 0) throw new TemplateError('unclosed action');
    let action = inner.slice(0, close);
    rest = inner.slice(close + 2);
    if (/ -$/.test(action)) {
      action = action.slice(0, -2);
      rest = rest.replace(/^\s+/, '');
    }
    if (text !== '') pieces.push({ kind: 'text', text });
    pieces.push({ kind: 'action', source: action });
  }
  return pieces;
}

/** Index of the `}}` ending an action, skipping any inside string literals. */
function findClose(s: string): number {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

type Token =
  | { kind: 'field'; path: string[] }
  | { kind: 'ident'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'root'; path: string[] }
  | { kind: '(' | ')' | '|' };

function tokenize(action: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fieldPath = (text: string) => text.split('.').filter((p) => p !== '');
  while (i < action.length) {
    const rest = action.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const c = rest[0]!;
    if (c === '(' || c === ')' || c === '|') {
      tokens.push({ kind: c });
      i++;
      continue;
    }
    let m = /^"(?:[^"\\]|\\.)*"/.exec(rest);
    if (m) {
      tokens.push({ kind: 'literal', value: JSON.parse(m[0]) });
      i += m[0].length;
      continue;
    }
    m = /^`[^`]*`/.exec(rest);
    if (m) {
      tokens.push({ kind: 'literal', value: m[0].slice(1, -1) });
      i += m[0].length;
      continue;
    }
    m = /^\.(?:[A-Za-z_][A-Za-z0-9_]*)?(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(rest);
    if (m) {
      // A field after a parenthesis applies to its result: `(index .X 0).Name`.
      const previous = tokens.at(-1);
      if (previous?.kind === ')' && m[0] !== '.' && !/^\s/.test(action.slice(i - 1, i))) {
        tokens.push({ kind: 'field', path: ['\u0000chain', ...fieldPath(m[0])] });
      } else tokens.push({ kind: 'field', path: fieldPath(m[0]) });
      i += m[0].length;
      continue;
    }
    m = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(rest);
    if (m) {
      tokens.push({ kind: 'root', path: fieldPath(m[0].slice(1)) });
      i += m[0].length;
      continue;
    }
    m = /^-?\d+(?:\.\d+)?/.exec(rest);
    if (m) {
      tokens.push({ kind: 'literal', value: Number(m[0]) });
      i += m[0].length;
      continue;
    }
    m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (m) {
      const word = m[0];
      if (word === 'true' || word === 'false') tokens.push({ kind: 'literal', value: word === 'true' });
      else if (word === 'nil') tokens.push({ kind: 'literal', value: null });
      else tokens.push({ kind: 'ident', name: word });
      i += word.length;
      continue;
    }
    throw new TemplateError(`unexpected "${c}" in command`);
  }
  return tokens;
}

// ---- parsing -------------------------------------------------------------------

class PipelineParser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly functions: Record<string, TemplateFunction>,
  ) {}

  parse(): Pipeline {
    const pipeline = this.pipeline();
    if (this.pos < this.tokens.length) throw new TemplateError('unexpected ")" in operand');
    return pipeline;
  }

  private pipeline(): Pipeline {
    const commands: Pipeline = [this.command()];
    while (this.tokens[this.pos]?.kind === '|') {
      this.pos++;
      commands.push(this.command());
    }
    return commands;
  }

  private command(): Command {
    const operands: Command = [];
    for (;;) {
      const token = this.tokens[this.pos];
      if (!token || token.kind === '|' || token.kind === ')') break;
      this.pos++;
      operands.push(this.operand(token));
    }
    if (operands.length === 0) throw new TemplateError('missing value for command');
    return operands;
  }

  private operand(token: Token): Operand {
    switch (token.kind) {
      case 'field':
        return { kind: 'field', base: 'dot', path: token.path };
      case 'root':
        return { kind: 'field', base: 'root', path: token.path };
      case 'literal':
        return { kind: 'literal', value: token.value };
      case 'ident':
        if (!(token.name in this.functions)) throw new TemplateError(`function "${token.name}" not defined`);
        return { kind: 'function', name: token.name };
      case '(': {
        const inner = this.pipeline();
        if (this.tokens[this.pos]?.kind !== ')') throw new TemplateError('unclosed left paren');
        this.pos++;
        const next = this.tokens[this.pos];
        if (next?.kind === 'field' && next.path[0] === '\u0000chain') {
          this.pos++;
          return { kind: 'field', base: inner, path: next.path.slice(1) };
        }
        return { kind: 'pipeline', pipeline: inner };
      }
      default:
        throw new TemplateError(`unexpected "${token.kind}" in operand`);
    }
  }
}

const BLOCK_KEYWORDS = new Set(['if', 'range', 'with']);

function parseTemplate(source: string, functions: Record<string, TemplateFunction>): TemplateNode[] {
  const pieces = splitActions(source);
  let index = 0;
  const pipelineOf = (text: string) => new PipelineParser(tokenize(text), functions).parse();

  // Parses nodes until `end`/`else`; returns which one stopped it (and the else's rest).
  const parseList = (): { nodes: TemplateNode[]; stop: 'end' | 'else' | 'eof'; elseRest: string } => {
    const nodes: TemplateNode[] = [];
    while (index < pieces.length) {
      const piece = pieces[index++]!;
      if (piece.kind === 'text') {
        nodes.push({ kind: 'text', text: piece.text });
        continue;
      }
      const source = piece.source.trim();
      if (source.startsWith('/*')) continue;
      const keyword = /^[a-z]+/.exec(source)?.[0] ?? '';
      if (keyword === 'end' && source === 'end') return { nodes, stop: 'end', elseRest: '' };
      if (keyword === 'else') return { nodes, stop: 'else', elseRest: source.slice(4).trim() };
      if (BLOCK_KEYWORDS.has(keyword)) {
        nodes.push(parseBlock(keyword as 'if' | 'range' | 'with', source.slice(keyword.length)));
        continue;
      }
      nodes.push({ kind: 'action', pipeline: pipelineOf(source) });
    }
    return { nodes, stop: 'eof', elseRest: '' };
  };

  const parseBlock = (kind: 'if' | 'range' | 'with', condition: string): TemplateNode => {
    const pipeline = pipelineOf(condition);
    const body = parseList();
    if (body.stop === 'eof') throw new TemplateError(`unexpected EOF: missing {{end}} for ${kind}`);
    let otherwise: TemplateNode[] = [];
    if (body.stop === 'else') {
      if (body.elseRest.startsWith('if ')) {
        // `{{else if X}}` is an `if` nested in the else branch that shares our `{{end}}`.
        otherwise = [parseBlock('if', body.elseRest.slice(3))];
      } else {
        const rest = parseList();
        if (rest.stop !== 'end') throw new TemplateError(`unexpected EOF: missing {{end}} for ${kind}`);
        otherwise = rest.nodes;
      }
    }
    return { kind, pipeline, body: body.nodes, otherwise };
  };

  const top = parseList();
  if (top.stop !== 'eof') throw new TemplateError(`unexpected {{${top.stop}}}`);
  return top.nodes;
}

// ---- values --------------------------------------------------------------------

/** Go's `%v` of a JSON-like value. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '<no value>';
  if (value === null) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${k}:${formatValue((value as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  return String(value);
}

/** Go's notion of an empty value, which `if` treats as false. */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function lookup(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || current === undefined) {
      throw new TemplateError(`nil pointer evaluating .${path.join('.')}`);
    }
    if (typeof current !== 'object')
      throw new TemplateError(`can't evaluate field ${key} in type ${typeof current}`);
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function printf(format: unknown, ...args: unknown[]): string {
  let n = 0;
  return String(format).replace(
    /%([-+ 0#]*)(\d*)(?:\.(\d+))?([svdqftx%])/g,
    (_all, flags: string, width, precision, verb) => {
      if (verb === '%') return '%';
      const arg = args[n++];
      let text: string;
      switch (verb) {
        case 'q':
          text = JSON.stringify(typeof arg === 'string' ? arg : formatValue(arg));
          break;
        case 'd':
          text = String(Math.trunc(Number(arg)));
          break;
        case 'f':
          text = Number(arg).toFixed(precision === undefined ? 6 : Number(precision));
          break;
        case 'x':
          text = typeof arg === 'number' ? arg.toString(16) : Buffer.from(String(arg)).toString('hex');
          break;
        default:
          text = formatValue(arg);
      }
      const w = Number(width || 0);
      return flags.includes('-') ? text.padEnd(w) : text.padStart(w);
    },
  );
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** Go's builtins and the helpers docker adds to its templates. */
export const DEFAULT_FUNCTIONS: Record<string, TemplateFunction> = {
  json: (v) => (v === undefined ? 'null' : JSON.stringify(v)),
  index: (v, ...keys) => {
    let current = v;
    for (const key of keys) {
      if (Array.isArray(current)) {
        const i = Number(key);
        if (!Number.isInteger(i) || i < 0 || i >= current.length)
          throw new TemplateError(`index out of range: ${i}`);
        current = current[i];
      } else if (current === null || current === undefined || typeof current === 'object') {
        // Docker's maps are typed (map[string]string), so a missing key gives the zero value "".
        current = (current as Record<string, unknown> | null | undefined)?.[String(key)] ?? '';
      } else throw new TemplateError(`can't index item of type ${typeof current}`);
    }
    return current;
  },
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (v && typeof v === 'object') return Object.keys(v).length;
    throw new TemplateError(`len of ${formatValue(v)}`);
  },
  upper: (v) => String(v).toUpperCase(),
  lower: (v) => String(v).toLowerCase(),
  title: (v) => String(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  join: (v, sep) => (Array.isArray(v) ? v.map(formatValue).join(String(sep)) : formatValue(v)),
  split: (v, sep) => String(v).split(String(sep)),
  truncate: (v, n) => [...String(v)].slice(0, Number(n)).join(''),
  pad: (v, before, after) => `${' '.repeat(Number(before))}${String(v)}${' '.repeat(Number(after))}`,
  printf,
  print: (...args) => args.map(formatValue).join(''),
  println: (...args) => `${args.map(formatValue).join(' ')}\n`,
  not: (v) => !isTruthy(v),
  and: (...args) => args.find((a) => !isTruthy(a)) ?? args.at(-1),
  or: (...args) => args.find((a) => isTruthy(a)) ?? args.at(-1),
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
};

// ---- execution -----------------------------------------------------------------

interface Scope {
  dot: unknown;
  root: unknown;
}

export interface Template {
  execute(data: unknown): string;
}

export function parseGoTemplate(
  source: string,
  extraFunctions: Record<string, TemplateFunction> = {},
): Template {
  const functions = { ...DEFAULT_FUNCTIONS, ...extraFunctions };
  const nodes = parseTemplate(source, functions);

  const evalOperand = (operand: Operand, scope: Scope): unknown => {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'pipeline':
        return evalPipeline(operand.pipeline, scope);
      case 'function':
        return functions[operand.name]!();
      case 'field': {
        const base =
          operand.base === 'dot'
            ? scope.dot
            : operand.base === 'root'
              ? scope.root
              : evalPipeline(operand.base, scope);
        return lookup(base, operand.path);
      }
    }
  };

  const evalCommand = (command: Command, scope: Scope, piped: unknown[]): unknown => {
    const [head, ...rest] = command;
    if (head?.kind === 'function') {
      const args = [...rest.map((o) => evalOperand(o, scope)), ...piped];
      return functions[head.name]!(...args);
    }
    const value = evalOperand(head!, scope);
    // A function-valued field is a method, as `.Label "k"` is in docker's contexts.
    if (typeof value === 'function') {
      return (value as TemplateFunction)(...rest.map((o) => evalOperand(o, scope)), ...piped);
    }
    if (rest.length > 0 || piped.length > 0) throw new TemplateError(`can't give argument to non-function`);
    return value;
  };

  const evalPipeline = (pipeline: Pipeline, scope: Scope): unknown => {
    let value: unknown;
    pipeline.forEach((command, i) => {
      value = evalCommand(command, scope, i === 0 ? [] : [value]);
    });
    return value;
  };

  const run = (list: TemplateNode[], scope: Scope, out: string[]): void => {
    for (const node of list) {
      switch (node.kind) {
        case 'text':
          out.push(node.text);
          break;
        case 'action':
          out.push(formatValue(evalPipeline(node.pipeline, scope)));
          break;
        case 'if':
          run(isTruthy(evalPipeline(node.pipeline, scope)) ? node.body : node.otherwise, scope, out);
          break;
        case 'with': {
          const value = evalPipeline(node.pipeline, scope);
          if (isTruthy(value)) run(node.body, { ...scope, dot: value }, out);
          else run(node.otherwise, scope, out);
          break;
        }
        case 'range': {
          const value = evalPipeline(node.pipeline, scope);
          const items = Array.isArray(value)
            ? value
            : value && typeof value === 'object'
              ? Object.keys(value)
                  .sort()
                  .map((k) => (value as Record<string, unknown>)[k])
              : [];
          if (items.length === 0) run(node.otherwise, scope, out);
          for (const item of items) run(node.body, { ...scope, dot: item }, out);
          break;
        }
      }
    }
  };

  return {
    execute(data: unknown): string {
      const out: string[] = [];
      run(nodes, { dot: data, root: data }, out);
      return out.join('');
    },
  };
}
