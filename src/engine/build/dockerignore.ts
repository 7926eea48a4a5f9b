import { posix } from 'node:path';

interface Pattern {
  regex: RegExp;
  isException: boolean;
}

/**
 * `.dockerignore` as Docker reads it: one pattern a line, `#` comments, paths cleaned
 * and relative to the context root, `*`, `?`, `[...]` and `**` (any number of
 * directories), `!` exceptions. The last pattern that matches a path, or one of its
 * parent directories, decides.
 */
export class IgnoreMatcher {
  private readonly patterns: Pattern[];

  constructor(text: string) {
    this.patterns = [];
    for (const line of text.split(/\r?\n/)) {
      let pattern = line.trim();
      if (pattern === '' || pattern.startsWith('#')) continue;
      const isException = pattern.startsWith('!');
      if (isException) pattern = pattern.slice(1).trim();
      pattern = posix.normalize(pattern).replace(/^\/+/, '').replace(/\/+$/, '');
      if (pattern === '' || pattern === '.') continue;
      this.patterns.push({ regex: toRegex(pattern), isException });
    }
  }

  get isEmpty(): boolean {
    return this.patterns.length === 0;
  }

  /** Whether `path` (relative, `/`-separated) is left out of the context. */
  isIgnored(path: string): boolean {
    const clean = posix
      .normalize(path)
      .replace(/^\.?\/+/, '')
      .replace(/\/+$/, '');
    const candidates: string[] = [];
    const parts = clean.split('/');
    for (let n = 1; n <= parts.length; n++) candidates.push(parts.slice(0, n).join('/'));
    let ignored = false;
    for (const pattern of this.patterns) {
      if (candidates.some((c) => pattern.regex.test(c))) ignored = !pattern.isException;
    }
    return ignored;
  }
}

function toRegex(pattern: string): RegExp {
  let out = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        // `**/` matches zero or more directories; a final `**` everything below.
        if (pattern[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        out += '\\[';
      } else {
        const body = pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegex(pattern[++i] as string);
    } else {
      out += escapeRegex(c);
    }
  }
  return new RegExp(`${out}$`);
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
