import { InvalidArgumentError } from '../../api/index.js';

/**
 * A parsed image name, normalized the way Docker does: `busybox` is
 * `docker.io/library/busybox:latest`.
 */
export interface ImageReference {
  /** `docker.io`, `localhost:5000`, ... */
  domain: string;
  /** `library/busybox`, `x/y` */
  path: string;
  tag?: string;
  /** `sha256:<hex>` */
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const OFFICIAL_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const NAME_MAX_LENGTH = 255;

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_RE = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const FULL_ID_RE = /^[a-f0-9]{64}$/;

function invalid(detail?: string): InvalidArgumentError {
  return new InvalidArgumentError(
    detail ? `invalid reference format: ${detail}` : 'invalid reference format',
  );
}

/**
 * Parses `[domain/]path[:tag][@digest]`. A name without a tag stays untagged here;
 * callers that need one use withDefaultTag. Throws InvalidArgumentError with Docker's text.
 */
export function parseReference(text: string): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid();
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) throw invalid();
  }
  if (rest === '') throw invalid();
  if (rest.length > NAME_MAX_LENGTH)
    throw invalid(`repository name must not be more than ${NAME_MAX_LENGTH} characters`);
  if (FULL_ID_RE.test(rest) && tag === undefined && digest === undefined) {
    throw new InvalidArgumentError(
      `invalid repository name (${rest}), cannot specify 64-byte hexadecimal strings`,
    );
  }

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a registry only if it looks like a host.
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      if (!DOMAIN_RE.test(first)) throw invalid();
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  const components = path.split('/');
  if (domain === DEFAULT_DOMAIN && components.length === 1) path = OFFICIAL_PREFIX + path;
  for (const component of components) {
    if (!PATH_COMPONENT_RE.test(component)) {
      if (PATH_COMPONENT_RE.test(component.toLowerCase())) {
        throw invalid(`repository name (${path}) must be lowercase`);
      }
      throw invalid();
    }
  }
  const ref: ImageReference = { domain, path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Adds `:latest` to a reference with neither tag nor digest, as Docker does for lookups. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** `docker.io/library/busybox` -> `busybox`; `myreg:5000/x/y` stays. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith(OFFICIAL_PREFIX) && !ref.path.slice(OFFICIAL_PREFIX.length).includes('/')
    ? ref.path.slice(OFFICIAL_PREFIX.length)
    : ref.path;
}

/** The short form Docker shows in RepoTags and messages: `busybox:latest`. */
export function familiarString(ref: ImageReference): string {
  let text = familiarName(ref);
  if (ref.tag !== undefined) text += `:${ref.tag}`;
  if (ref.digest !== undefined) text += `@${ref.digest}`;
  return text;
}

/** Parses a name that must end up tagged (`busybox` -> `busybox:latest`), for tagging and loading. */
export function parseTaggedName(text: string): ImageReference {
  const ref = parseReference(text);
  if (ref.digest !== undefined) throw invalid('a tag name cannot contain a digest');
  return withDefaultTag(ref);
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/**
 * Docker's `reference=` filter: a path.Match-style glob against `name:tag`, and also
 * against `name` alone when the pattern has no tag part.
 */
export function matchesReferencePattern(pattern: string, ref: ImageReference): boolean {
  const glob = globToRegExp(pattern);
  if (glob.test(familiarString(ref))) return true;
  const patternHasTag = pattern.lastIndexOf(':') > pattern.lastIndexOf('/');
  return !patternHasTag && glob.test(familiarName(ref));
}

function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) {
        source += '\\[';
      } else {
        const body = pattern.slice(i + 1, end).replace(/^\^/, '!');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}
