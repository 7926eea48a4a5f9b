import { InvalidArgumentError } from '../../api/index.js';

/** A here-document of RUN/COPY/ADD (`<<EOF` ... `EOF`). */
export interface Heredoc {
  name: string;
  content: string;
  /** False when the delimiter was quoted: no variable expansion in the content. */
  expands: boolean;
}

/** One instruction, continuations joined. */
export interface Instruction {
  /** Upper case: `RUN`, `COPY` ... */
  keyword: string;
  /** `--name=value` options before the arguments, in order (`--link` has value ''). */
  flags: { name: string; value: string }[];
  /** The arguments after the flags, as written. */
  args: string;
  /** The exec (JSON) form's array when the arguments are one. */
  json: string[] | undefined;
  heredocs: Heredoc[];
  /** `KEYWORD args` as Docker prints it in `Step N/M : ...`. */
  original: string;
  line: number;
}

export interface Dockerfile {
  /** The escape character, `\` unless a `# escape=` directive says otherwise. */
  escapeChar: string;
  instructions: Instruction[];
}

const KEYWORDS = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

export function parseError(line: number, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`dockerfile parse error on line ${line}: ${message}`);
}

/**
 * Parses a Dockerfile as Docker's parser does: directives at the top, comments,
 * line continuations with the escape character, exec (JSON) and shell forms, and
 * BuildKit's here-documents. InvalidArgumentError names the line of what is wrong.
 */
export function parseDockerfile(text: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escapeChar = '\\';
  let i = 0;
  // Directives are only recognized before the first instruction, blank line or other comment.
  for (; i < lines.length; i++) {
    const match = DIRECTIVE.exec(lines[i] ?? '');
    if (!match) break;
    const name = (match[1] as string).toLowerCase();
    const value = match[2] as string;
    if (name === 'escape') {
      if (value !== '\\' && value !== '`')
        throw parseError(i + 1, `invalid escape token '${value}' does not match \` or \\`);
      escapeChar = value;
    }
  }
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const raw = lines[i] as string;
    const startLine = i + 1;
    i++;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let logical = raw.trimStart();
    // Continuations: comment and blank lines inside them are dropped, as Docker does.
    while (endsWithEscape(logical, escapeChar)) {
      logical = logical.trimEnd().slice(0, -1);
      let joined = false;
      while (i < lines.length) {
        const next = lines[i] as string;
        i++;
        const t = next.trim();
        if (t.startsWith('#') || t === '') continue;
        logical += next;
        joined = true;
        break;
      }
      if (!joined) break;
    }
    const match = /^(\S+)\s*([\s\S]*)$/.exec(logical.trim());
    if (!match) continue;
    const keyword = (match[1] as string).toUpperCase();
    if (!KEYWORDS.has(keyword)) throw parseError(startLine, `unknown instruction: ${match[1]}`);
    const rest = (match[2] as string).trim();
    const { flags, args } = splitFlags(keyword, rest);
    const heredocs: Heredoc[] = [];
    if (HEREDOC_KEYWORDS.has(keyword)) {
      for (const doc of args.matchAll(HEREDOC)) {
        const strip = doc[1] === '-';
        const name = doc[3] as string;
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const next = lines[i] as string;
          i++;
          if ((strip ? next.replace(/^\t+/, '') : next) === name) {
            closed = true;
            break;
          }
          body.push(strip ? next.replace(/^\t+/, '') : next);
        }
        if (!closed) throw parseError(startLine, `unterminated heredoc ${name}`);
        heredocs.push({ name, content: body.map((l) => `${l}\n`).join(''), expands: doc[2] === '' });
      }
    }
    if (args === '' && keyword !== 'ONBUILD' && heredocs.length === 0) {
      throw parseError(startLine, `${keyword} requires at least one argument`);
    }
    instructions.push({
      keyword,
      flags,
      args,
      json: parseJsonForm(args),
      heredocs,
      original: `${keyword} ${rest}`.trimEnd(),
      line: startLine,
    });
  }
  return { escapeChar, instructions };
}

function endsWithEscape(line: string, escapeChar: string): boolean {
  const t = line.trimEnd();
  if (!t.endsWith(escapeChar)) return false;
  // An escaped escapeChar (`\\`) at the end is a literal, not a continuation.
  let count = 0;
  for (let k = t.length - 1; k >= 0 && t[k] === escapeChar; k--) count++;
  return count % 2 === 1;
}

// Instructions whose leading `--x` words are options, as Docker's parser decides.
const FLAG_KEYWORDS = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'HEALTHCHECK']);

function splitFlags(keyword: string, rest: string): { flags: Instruction['flags']; args: string } {
  const flags: Instruction['flags'] = [];
  if (!FLAG_KEYWORDS.has(keyword)) return { flags, args: rest };
  let args = rest;
  for (;;) {
    const match = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(args);
    if (!match) break;
    flags.push({ name: match[1] as string, value: match[2] ?? '' });
    args = args.slice(match[0].length);
  }
  return { flags, args: args.trim() };
}

/** The exec form: a JSON array of strings; anything else is the shell form. */
export function parseJsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  } catch {
    // Not JSON: Docker then treats the text as the shell form.
  }
  return undefined;
}
