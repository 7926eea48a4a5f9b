import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { humanSize } from '../api/index.js';
import type { JsonMessage, RegistryAuth } from '../client/index.js';
import type { CliContext } from './context.js';
import { StatusError, UsageError } from './errors.js';

/** The key docker uses for Docker Hub in `auths`. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

interface ConfigFile {
  auths?: Record<string, { auth?: string; identitytoken?: string }>;
  [key: string]: unknown;
}

/** `$BERTH_CONFIG/config.json`, else `~/.berth/config.json`: the docker CLI reads the same format. */
export function configPathOf(env: Record<string, string | undefined>): string {
  const dir = env.BERTH_CONFIG || join(env.HOME || homedir(), '.berth');
  return join(dir, 'config.json');
}

async function readConfig(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  try {
    return text.trim() === '' ? {} : (JSON.parse(text) as ConfigFile);
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Written beside and renamed, mode 0600 from the start: it holds passwords. */
async function writeConfig(path: string, config: ConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(config, null, '\t')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/** The registry a reference names, as docker decides it: a first component with `.`, `:` or `localhost`. */
export function registryOfReference(name: string): string {
  const slash = name.indexOf('/');
  if (slash === -1) return DOCKER_HUB_KEY;
  const first = name.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    return first === 'docker.io' || first === 'index.docker.io' ? DOCKER_HUB_KEY : first;
  }
  return DOCKER_HUB_KEY;
}

/** `https://host:5000/` and `host:5000` name the same entry; Docker Hub has its own key. */
function configKeyOf(server: string | undefined): string {
  if (server === undefined || server === '') return DOCKER_HUB_KEY;
  const bare = server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  if (bare === 'docker.io' || bare === 'index.docker.io' || bare === 'registry-1.docker.io')
    return DOCKER_HUB_KEY;
  return bare;
}

async function credentialsFor(ctx: CliContext, server: string): Promise<RegistryAuth | undefined> {
  const config = await readConfig(configPathOf(ctx.io.env));
  const auths = config.auths ?? {};
  const entry =
    auths[server] ?? Object.entries(auths).find(([key]) => configKeyOf(key) === configKeyOf(server))?.[1];
  if (!entry) return undefined;
  const auth: RegistryAuth = { serveraddress: server };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      auth.username = decoded.slice(0, colon);
      auth.password = decoded.slice(colon + 1);
    }
  }
  if (entry.identitytoken) auth.identitytoken = entry.identitytoken;
  return auth;
}

/**
 * Draws a pull or push stream as docker does: on a terminal a line per layer id,
 * rewritten in place; elsewhere each status once, without byte counts.
 */
export class ProgressDisplay {
  private readonly lineOf = new Map<string, number>();
  private lines = 0;

  constructor(
    private readonly out: (text: string) => void,
    private readonly isTerminal: boolean,
  ) {}

  show(m: JsonMessage): void {
    if (m.error !== undefined || m.errorDetail !== undefined) {
      throw new StatusError(1, m.errorDetail?.message ?? m.error ?? 'unknown error');
    }
    if (m.status === undefined && m.stream === undefined) return; // aux
    const hasBytes = m.progressDetail?.current !== undefined;
    if (!this.isTerminal) {
      if (hasBytes) return;
      this.out(`${m.id ? `${m.id}: ` : ''}${m.status ?? m.stream ?? ''}\n`);
      return;
    }
    const bar = hasBytes
      ? ` ${m.progress ?? barOf(m.progressDetail?.current ?? 0, m.progressDetail?.total ?? 0)}`
      : '';
    const text = `${m.id ? `${m.id}: ` : ''}${m.status ?? ''}${bar}`;
    const line = m.id ? this.lineOf.get(m.id) : undefined;
    if (m.id && line !== undefined) {
      const up = this.lines - line;
      this.out(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
      return;
    }
    if (m.id) this.lineOf.set(m.id, this.lines);
    this.out(`${text}\n`);
    this.lines++;
  }
}

function barOf(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const width = 50;
  const filled = Math.min(width, Math.floor((current / total) * width));
  return `[${'='.repeat(Math.max(0, filled - 1))}>${' '.repeat(width - Math.max(filled, 1))}]  ${humanSize(current)}/${humanSize(total)}`;
}

/** `name[:tag|@digest]` -> what `POST /images/create` takes: the name and the tag or digest. */
export function splitPullReference(ref: string): { name: string; tag: string | undefined } {
  const at = ref.indexOf('@');
  if (at !== -1) return { name: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: undefined };
}

function canonicalName(name: string): string {
  if (registryOfReference(name) !== DOCKER_HUB_KEY) return name;
  const bare = name.replace(/^(docker\.io|index\.docker\.io)\//, '');
  return `docker.io/${bare.includes('/') ? bare : `library/${bare}`}`;
}

/**
 * What pull and push share: docker's default tag, the stored credentials for the
 * registry, and the progress display. Returns the tag used.
 */
async function transfer(
  ctx: CliContext,
  name: string,
  requestedTag: string | undefined,
  flags: { quiet?: boolean; allTags?: boolean },
  send: (opts: { tag?: string; auth?: RegistryAuth }) => Promise<AsyncIterable<JsonMessage>>,
): Promise<string | undefined> {
  let tag = requestedTag;
  if (tag === undefined && !flags.allTags) {
    ctx.out('Using default tag: latest\n');
    tag = 'latest';
  }
  const auth = await credentialsFor(ctx, registryOfReference(name));
  const messages = await send({ ...(tag !== undefined ? { tag } : {}), ...(auth ? { auth } : {}) });
  const display = new ProgressDisplay(
    flags.quiet ? () => undefined : (s) => ctx.out(s),
    !!ctx.io.stdout.isTTY,
  );
  for await (const m of messages) display.show(m);
  return tag;
}

function definePull(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Download an image from a registry')
    .argument('<name>', 'NAME[:TAG|@DIGEST]')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('-a, --all-tags', 'Download all tagged images in the repository')
    .action(async (ref: string, flags: { quiet?: boolean; allTags?: boolean }) => {
      const { name, tag } = splitPullReference(ref);
      const pulled = await transfer(ctx, name, tag, flags, (opts) => ctx.client().registry.pull(name, opts));
      const shown =
        pulled === undefined ? name : `${name}${pulled.startsWith('sha256:') ? '@' : ':'}${pulled}`;
      ctx.out(`${canonicalName(shown)}\n`);
    });
}

function definePush(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Upload an image to a registry')
    .argument('<name>', 'NAME[:TAG]')
    .option('-a, --all-tags', 'Push all tags of an image to the repository')
    .option('-q, --quiet', 'Suppress verbose output')
    .action(async (ref: string, flags: { quiet?: boolean; allTags?: boolean }) => {
      const { name, tag } = splitPullReference(ref);
      if (ref.includes('@')) throw new UsageError('cannot push a digest reference');
      if (flags.allTags && tag !== undefined) throw new UsageError("tag can't be used with --all-tags/-a");
      await transfer(ctx, name, tag, flags, (opts) => ctx.client().registry.push(name, opts));
      if (flags.quiet) ctx.out(`${ref}\n`);
    });
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function defineLogin(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Authenticate to a registry')
    .argument('[server]')
    .option('-u, --username <string>', 'Username')
    .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
    .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
    .action(
      async (
        server: string | undefined,
        flags: { username?: string; password?: string; passwordStdin?: boolean },
      ) => {
        let password = flags.password;
        if (flags.passwordStdin) {
          if (password !== undefined)
            throw new UsageError('--password and --password-stdin are mutually exclusive');
          if (flags.username === undefined)
            throw new UsageError('Must provide --username with --password-stdin');
          password = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
        } else if (password !== undefined) {
          ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
        }
        const key = configKeyOf(server);
        const path = configPathOf(ctx.io.env);
        const config = await readConfig(path);
        let username = flags.username;
        if (username === undefined || password === undefined) {
          const stored = await credentialsFor(ctx, key);
          if (!stored?.username || !stored.password) {
            throw new UsageError('Error: Cannot perform an interactive login from a non TTY device');
          }
          username = stored.username;
          password = stored.password;
        }
        const answer = await ctx.client().registry.login({ username, password, serveraddress: key });
        const auths = config.auths ?? {};
        auths[key] = {
          auth: Buffer.from(`${username}:${password}`).toString('base64'),
          ...(answer.IdentityToken ? { identitytoken: answer.IdentityToken } : {}),
        };
        await writeConfig(path, { ...config, auths });
        ctx.out(`${answer.Status || 'Login Succeeded'}\n`);
      },
    );
}

function defineLogout(cmd: Command, ctx: CliContext): Command {
  return cmd
    .description('Log out from a registry')
    .argument('[server]')
    .action(async (server: string | undefined) => {
      const key = configKeyOf(server);
      const path = configPathOf(ctx.io.env);
      const config = await readConfig(path);
      const auths = config.auths ?? {};
      const names = Object.keys(auths).filter((k) => configKeyOf(k) === key);
      if (names.length === 0) {
        ctx.out(`Not logged in to ${server ?? key}\n`);
        return;
      }
      ctx.out(`Removing login credentials for ${server ?? key}\n`);
      for (const name of names) delete auths[name];
      await writeConfig(path, { ...config, auths });
    });
}

/** `pull`, `push`, `login`, `logout`, and `image pull|push`. */
export function registerRegistryCommands(program: Command, ctx: CliContext): void {
  definePull(program.command('pull'), ctx);
  definePush(program.command('push'), ctx);
  defineLogin(program.command('login'), ctx);
  defineLogout(program.command('logout'), ctx);
  const image = program.commands.find((c) => c.name() === 'image');
  if (image) {
    definePull(image.command('pull'), ctx);
    definePush(image.command('push'), ctx);
  }
}
