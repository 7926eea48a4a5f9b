import { InvalidArgumentError } from '../../api/index.js';

/** Variables visible to an instruction: ENV, then ARG values, by name. */
export type Variables = ReadonlyMap<string, string>;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/**
 * Docker's word processing: quotes removed, `$x`, `${x}`, `${x:-d}`, `${x-d}`,
 * `${x:+a}`, `${x+a}` and `${x:?msg}` expanded, the escapeChar character taking the
 * next one literally. Single quotes stop expansion; double quotes do not.
 */
export function expandWord(word: string, vars: Variables, escapeChar = '\\'): string {
  return new Lexer(word, vars, escapeChar).words(false).join('');
}

/** Like expandWord, split into words on unquoted whitespace (ENV, LABEL, EXPOSE, VOLUME, COPY). */
export function expandWords(text: string, vars: Variables, escapeChar = '\\'): string[] {
  return new Lexer(text, vars, escapeChar).words(true);
}

/** Words as written, quotes kept, split on unquoted whitespace: `a="b c" d` -> [`a="b c"`, `d`]. */
export function splitRawWords(text: string, escapeChar = '\\'): string[] {
  const words: string[] = [];
  let current = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === escapeChar && quote !== "'" && i + 1 < text.length) {
      current += c + (text[i + 1] as string);
      i++;
      inWord = true;
      continue;
    }
    if (quote) {
      if (c === quote) quote = '';
      current += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      current += c;
      inWord = true;
      continue;
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
      continue;
    }
    current += c;
    inWord = true;
  }
  if (quote)
    throw new InvalidArgumentError(`unexpected end of statement while looking for matching ${quote}`);
  if (inWord) words.push(current);
  return words;
}

class Lexer {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly vars: Variables,
    private readonly escapeChar: string,
  ) {}

  words(split: boolean): string[] {
    const words: string[] = [];
    let current = '';
    let inWord = false;
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      if (split && /\s/.test(c)) {
        this.pos++;
        if (inWord) words.push(current);
        current = '';
        inWord = false;
        continue;
      }
      inWord = true;
      if (c === this.escapeChar) {
        this.pos++;
        // A trailing escapeChar stays as written.
        current += this.pos < this.text.length ? (this.text[this.pos++] as string) : c;
      } else if (c === "'") {
        current += this.singleQuoted();
      } else if (c === '"') {
        current += this.doubleQuoted();
      } else if (c === '$') {
        current += this.variable();
      } else {
        current += c;
        this.pos++;
      }
    }
    if (inWord) words.push(current);
    return words;
  }

  private singleQuoted(): string {
    const end = this.text.indexOf("'", this.pos + 1);
    if (end === -1)
      throw new InvalidArgumentError("unexpected end of statement while looking for matching '");
    const value = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return value;
  }

  private doubleQuoted(): string {
    this.pos++;
    let value = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      if (c === '"') {
        this.pos++;
        return value;
      }
      if (c === this.escapeChar) {
        const next = this.text[this.pos + 1];
        if (next === '"' || next === '$' || next === this.escapeChar) {
          value += next;
          this.pos += 2;
          continue;
        }
        value += c;
        this.pos++;
        continue;
      }
      if (c === '$') {
        value += this.variable();
        continue;
      }
      value += c;
      this.pos++;
    }
    throw new InvalidArgumentError('unexpected end of statement while looking for matching "');
  }

  /** At a `$`: the expansion, or a literal `$` when no name follows. */
  private variable(): string {
    this.pos++;
    const c = this.text[this.pos];
    if (c === '{') return this.braced();
    if (c === undefined || !NAME_START.test(c)) return '$';
    const start = this.pos;
    while (this.pos < this.text.length && NAME_CHAR.test(this.text[this.pos] as string)) this.pos++;
    return this.vars.get(this.text.slice(start, this.pos)) ?? '';
  }

  private braced(): string {
    this.pos++;
    const start = this.pos;
    while (this.pos < this.text.length && NAME_CHAR.test(this.text[this.pos] as string)) this.pos++;
    const name = this.text.slice(start, this.pos);
    if (name === '') throw new InvalidArgumentError(`bad substitution: ${this.text}`);
    if (this.text[this.pos] === '}') {
      this.pos++;
      return this.vars.get(name) ?? '';
    }
    let op = this.text[this.pos] ?? '';
    this.pos++;
    if (op === ':') {
      op += this.text[this.pos] ?? '';
      this.pos++;
    }
    // The word runs to the matching brace; it is itself expanded.
    let depth = 1;
    const wordStart = this.pos;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos] as string;
      if (ch === this.escapeChar) this.pos++;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) break;
      this.pos++;
    }
    if (depth !== 0) throw new InvalidArgumentError(`missing '}' in ${this.text}`);
    const rawWord = this.text.slice(wordStart, this.pos);
    this.pos++;
    const word = () => new Lexer(rawWord, this.vars, this.escapeChar).words(false).join('');
    const value = this.vars.get(name);
    switch (op) {
      case ':-':
        return value === undefined || value === '' ? word() : value;
      case '-':
        return value === undefined ? word() : value;
      case ':+':
        return value === undefined || value === '' ? '' : word();
      case '+':
        return value === undefined ? '' : word();
      case ':?':
      case '?':
        if (value === undefined || (op === ':?' && value === '')) {
          throw new InvalidArgumentError(`${name}: ${word() || 'is not allowed to be empty'}`);
        }
        return value;
      default:
        throw new InvalidArgumentError(`unsupported modifier (${op}) in substitution: ${this.text}`);
    }
  }
}
