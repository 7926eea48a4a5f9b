import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ImageRuntimeConfig } from '../../api/index.js';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../api/index.js';
import type { ImageRecord } from '../image/index.js';
import { applyLayerTar, MaybeGunzip, parseReference } from '../image/index.js';
import { type BuildCache, cacheKeyOf, type StepKey } from './cache.js';
import { applyConfigStep, CONFIG_KEYWORDS, commandOf, shellOf } from './config-steps.js';
import { unpackContext } from './context.js';
import { type Instruction, parseDockerfile, parseError } from './dockerfile.js';
import { readOwner } from './owner.js';
import { OrderedOutput, runInDependencyOrder } from './schedule.js';
import { checksumOf, type Placement, packSources, resolveSources, type Source } from './sources.js';
import { expandWord, expandWords, splitRawWords } from './substitute.js';
import {
  type BuildContainers,
  type BuildImages,
  type BuildOutput,
  type BuildRegistry,
  type BuildRequest,
  StepFailedError,
} from './types.js';

const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** Independent stages built at once: enough to overlap two long RUNs, few enough for small hosts. */
const PARALLEL_STAGES = 2;
// Docker's predefined ARGs: usable without an ARG line, and left out of history.
const PROXY_ARGS = new Set(
  ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]),
);
const COPY_FLAGS = new Set([
  'from',
  'chown',
  'chmod',
  'link',
  'parents',
  'exclude',
  'checksum',
  'keep-git-dir',
]);

interface Stage {
  index: number;
  name: string;
  from: Instruction;
  steps: Instruction[];
}

interface StageState {
  /** Where this stage's steps report (held back while an earlier stage still runs). */
  out: BuildOutput;
  /** Undefined for `FROM scratch` until a step makes an image. */
  imageId: string | undefined;
  config: ImageRuntimeConfig;
  args: Map<string, string>;
  shell: string[];
  isCmdSet: boolean;
  author: string;
}

export interface BuilderDeps {
  images: BuildImages;
  containers: BuildContainers;
  cache: BuildCache;
  /** Pulls a FROM image that is not here. */
  registry: BuildRegistry;
  /** <data-root>/build: contexts being built and RUN --mount=type=cache dirs. */
  dir: string;
}

function short(id: string | undefined): string {
  return (id ?? '').replace(/^sha256:/, '').slice(0, 12);
}

/**
 * The classic builder: each step starts from the image of the step before and ends
 * with a new image (a layer for RUN, COPY, ADD and WORKDIR; config only otherwise),
 * reusing a cached one when the step's key matches. Output follows dockerd's lines.
 */
export class Builder {
  constructor(private readonly deps: BuilderDeps) {}

  async build(req: BuildRequest, out: BuildOutput): Promise<string> {
    await mkdir(this.deps.dir, { recursive: true, mode: 0o700 });
    const work = await mkdtemp(join(this.deps.dir, 'ctx-'));
    try {
      const contextDir = join(work, 'context');
      await mkdir(contextDir);
      const context = await unpackContext(req.context, contextDir, req.dockerfile || 'Dockerfile');
      const run = new BuildRun(this.deps, req, out, contextDir, context.digests, work);
      return await run.execute(context.dockerfile);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /**
   * `builder prune`: forgets every cached step, removes the RUN --mount=type=cache
   * directories, and removes the images only the cache kept (untagged, parent of no
   * image, used by no container). Returns the cache keys dropped and the bytes freed.
   */
  async prune(): Promise<{ deleted: string[]; spaceReclaimed: number }> {
    const candidates = new Set(this.deps.cache.list().map(([, entry]) => entry.imageId));
    const deleted = await this.deps.cache.clear();
    const mounts = join(this.deps.dir, 'cache-mounts');
    let spaceReclaimed = await sizeOf(mounts);
    await rm(mounts, { recursive: true, force: true });
    const usedBy = (id: string) => this.deps.containers.userOfImage(id);
    // Children first: removing a step's image can free the image of the step before it.
    for (let isProgress = true; isProgress; ) {
      isProgress = false;
      const images = new Map((await this.deps.images.list({ all: true })).map((i) => [i.id, i]));
      const parents = new Set([...images.values()].map((i) => i.parent));
      for (const id of candidates) {
        const image = images.get(id);
        if (image && (image.repoTags.length > 0 || parents.has(id) || usedBy(id) !== undefined)) continue;
        candidates.delete(id);
        if (!image) continue;
        const removed = await this.deps.images.remove(id, { usedBy }).then(
          () => true,
          (e: unknown) => {
            // A container or a tag may have claimed it since the listing: it stays.
            if (e instanceof ConflictError || e instanceof NotFoundError) return false;
            throw e;
          },
        );
        if (!removed) continue;
        isProgress = true;
        spaceReclaimed += Math.max(0, image.size - (images.get(image.parent)?.size ?? 0));
      }
    }
    return { deleted, spaceReclaimed };
  }
}

/** Bytes of the regular files below `path` (0 when it does not exist). */
async function sizeOf(path: string): Promise<number> {
  const stats = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!stats) return 0;
  if (!stats.isDirectory()) return stats.isFile() ? stats.size : 0;
  let total = 0;
  for (const name of await readdir(path)) total += await sizeOf(join(path, name));
  return total;
}

class BuildRun {
  private total = 0;
  /** The number the next step of each stage gets, so that steps keep their file order. */
  private readonly nextStep = new Map<number, number>();
  private readonly failed = new AbortController();
  /** Aborts on the client's disconnect and on the first failed stage. */
  private readonly signal: AbortSignal;
  private readonly globalArgs = new Map<string, string>();
  private readonly consumedArgs = new Set<string>();
  private readonly results = new Map<number, StageState>();
  private escape = '\\';

  constructor(
    private readonly deps: BuilderDeps,
    private readonly req: BuildRequest,
    private readonly out: BuildOutput,
    private readonly contextDir: string,
    /** The context files' content digests, as long as nothing but the unpacking wrote them. */
    private readonly contextDigests: Map<string, string>,
    private readonly work: string,
  ) {
    this.signal = AbortSignal.any([req.signal, this.failed.signal]);
  }

  async execute(text: string): Promise<string> {
    const dockerfile = parseDockerfile(text);
    this.escape = dockerfile.escapeChar;
    const stages = this.splitStages(dockerfile.instructions);
    let targetIndex = stages.length - 1;
    if (this.req.target) {
      const found = stages.find((s) => s.name === this.req.target.toLowerCase());
      if (!found)
        throw new InvalidArgumentError(`failed to reach build target ${this.req.target} in Dockerfile`);
      targetIndex = found.index;
    }
    const target = stages[targetIndex] as Stage;
    if (Object.keys(this.req.labels).length > 0) {
      const pairs = Object.entries(this.req.labels).map(
        ([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`,
      );
      const args = pairs.join(' ');
      target.steps.push({
        keyword: 'LABEL',
        flags: [],
        args,
        json: undefined,
        heredocs: [],
        original: `LABEL ${args}`,
        line: 0,
      });
    }
    const needed = this.neededStages(stages, targetIndex);
    for (const stage of needed) {
      this.nextStep.set(stage.index, this.total + 1);
      this.total += 1 + stage.steps.length;
    }
    await this.runStages(needed, stages);
    const imageId = this.results.get(targetIndex)?.imageId;
    if (!imageId) throw new InvalidArgumentError('No image was generated. Is your Dockerfile empty?');
    const unused = Object.keys(this.req.buildArgs).filter(
      (a) => !this.consumedArgs.has(a) && !PROXY_ARGS.has(a),
    );
    if (unused.length > 0) {
      this.out.stream(`[Warning] One or more build-args [${unused.sort().join(' ')}] were not consumed\n`);
    }
    this.out.aux({ ID: imageId });
    this.out.stream(`Successfully built ${short(imageId)}\n`);
    for (const tag of this.req.tags) {
      const { repo, tagName } = splitTag(tag);
      await this.deps.images.tag(imageId, repo, tagName);
      this.out.stream(`Successfully tagged ${repo}:${tagName ?? 'latest'}\n`);
    }
    return imageId;
  }

  private splitStages(instructions: Instruction[]): Stage[] {
    const stages: Stage[] = [];
    for (const ins of instructions) {
      if (ins.keyword === 'FROM') {
        const words = ins.args.split(/\s+/);
        const name =
          words.length >= 3 && words[1]?.toLowerCase() === 'as' ? (words[2] as string).toLowerCase() : '';
        stages.push({ index: stages.length, name, from: ins, steps: [] });
        continue;
      }
      const current = stages[stages.length - 1];
      if (current) {
        current.steps.push(ins);
      } else if (ins.keyword === 'ARG') {
        for (const [name, value] of this.declaredArgs(ins, new Map())) {
          this.consumedArgs.add(name);
          if (value !== undefined) this.globalArgs.set(name, value);
        }
      } else {
        throw parseError(ins.line, 'no build stage in current context');
      }
    }
    if (stages.length === 0)
      throw new InvalidArgumentError('dockerfile parse error: no build stage in current context');
    return stages;
  }

  /**
   * Builds the stages, each as soon as the stages it reads from are built, two at a
   * time; their output comes out in file order, as a sequential build prints it.
   */
  private async runStages(needed: Stage[], stages: Stage[]): Promise<void> {
    const output = new OrderedOutput(this.out, needed.length);
    const positions = new Map(needed.map((s, i) => [s.index, i]));
    const tasks = needed.map((s) => ({ id: s.index, dependsOn: this.dependenciesOf(s, stages) }));
    await runInDependencyOrder(
      tasks,
      PARALLEL_STAGES,
      async (index) => {
        const position = positions.get(index) as number;
        const state = await this.runStage(stages[index] as Stage, stages, output.channel(position));
        this.results.set(index, state);
        output.close(position);
      },
      () => this.failed.abort(),
    );
  }

  /** The stages a stage reads from: its FROM, COPY --from and RUN --mount from=. */
  private dependenciesOf(stage: Stage, stages: Stage[]): number[] {
    const refs = [this.baseNameOf(stage)];
    for (const step of stage.steps) {
      for (const flag of step.flags) {
        if (flag.name === 'from') refs.push(flag.value);
        if (flag.name === 'mount') {
          const from = /(?:^|,)from=([^,]+)/.exec(flag.value);
          if (from) refs.push(from[1] as string);
        }
      }
    }
    const deps = new Set<number>();
    for (const ref of refs) {
      const dep = this.stageOf(stages, ref, stage.index);
      if (dep) deps.add(dep.index);
    }
    return [...deps];
  }

  /** The target and the stages it reads from, in file order. */
  private neededStages(stages: Stage[], targetIndex: number): Stage[] {
    const needed = new Set<number>();
    const visit = (index: number) => {
      if (needed.has(index)) return;
      needed.add(index);
      for (const dep of this.dependenciesOf(stages[index] as Stage, stages)) visit(dep);
    };
    visit(targetIndex);
    return stages.filter((s) => needed.has(s.index));
  }

  private stageOf(stages: Stage[], ref: string, before: number): Stage | undefined {
    const byName = stages.find((s) => s.index < before && s.name !== '' && s.name === ref.toLowerCase());
    if (byName) return byName;
    if (/^\d+$/.test(ref) && Number(ref) < before) return stages[Number(ref)];
    return undefined;
  }

  private baseNameOf(stage: Stage): string {
    return expandWord(stage.from.args.split(/\s+/)[0] ?? '', this.globalArgs, this.escape);
  }

  private async runStage(stage: Stage, stages: Stage[], out: BuildOutput): Promise<StageState> {
    this.announce(stage, out, stage.from);
    const base = this.baseNameOf(stage);
    const dep = this.stageOf(stages, base, stage.index);
    let state: StageState;
    if (dep) {
      const prior = this.results.get(dep.index) as StageState;
      state = { ...prior, out, args: new Map(), isCmdSet: false, config: { ...prior.config } };
    } else if (base.toLowerCase() === 'scratch') {
      state = {
        out,
        imageId: undefined,
        config: {},
        args: new Map(),
        shell: DEFAULT_SHELL,
        isCmdSet: false,
        author: '',
      };
    } else {
      const image = await this.baseImage(base, out);
      const config = { ...(image.config.config ?? {}) };
      state = {
        out,
        imageId: image.id,
        config,
        args: new Map(),
        shell: Array.isArray(config.Shell) ? (config.Shell as string[]) : DEFAULT_SHELL,
        isCmdSet: false,
        author: '',
      };
    }
    out.stream(` ---> ${short(state.imageId)}\n`);
    const triggers = state.config.OnBuild ?? [];
    if (triggers.length > 0) {
      out.stream(`# Executing ${triggers.length} build trigger${triggers.length === 1 ? '' : 's'}\n`);
      state.config = { ...state.config, OnBuild: null };
      for (const trigger of triggers) {
        for (const ins of parseDockerfile(trigger).instructions)
          state = await this.runStep(state, ins, stages, stage);
      }
    }
    for (const ins of stage.steps) {
      this.signal.throwIfAborted();
      this.announce(stage, out, ins);
      state = await this.runStep(state, ins, stages, stage);
      out.stream(` ---> ${short(state.imageId)}\n`);
    }
    return state;
  }

  /** The FROM image: the local one, else pulled, its progress shown as dockerd's builder shows it. */
  private async baseImage(ref: string, out: BuildOutput): Promise<ImageRecord> {
    try {
      return await this.deps.images.resolve(ref);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
    }
    return this.deps.registry.pull(ref, undefined, {
      credentials: this.req.registryCredentials?.get(parseReference(ref).domain) ?? {},
      progress: (message) => {
        // Byte counts would flood a log-style display; the per-layer states are enough.
        if (message.status === undefined || message.progressDetail?.current !== undefined) return;
        out.stream(message.id ? `${message.id}: ${message.status}\n` : `${message.status}\n`);
      },
      signal: this.signal,
    });
  }

  private announce(stage: Stage, out: BuildOutput, ins: Instruction): void {
    const step = this.nextStep.get(stage.index) ?? 1;
    this.nextStep.set(stage.index, step + 1);
    out.stream(`Step ${step}/${this.total} : ${ins.original}\n`);
  }

  private varsOf(state: StageState): Map<string, string> {
    const vars = new Map(state.args);
    for (const entry of state.config.Env ?? []) {
      const eq = entry.indexOf('=');
      if (eq > 0) vars.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return vars;
  }

  /** ARG's `name[=default]` words with the value each gets: the build arg, else the default. */
  private declaredArgs(ins: Instruction, vars: Map<string, string>): [string, string | undefined][] {
    return splitRawWords(ins.args, this.escape).map((word) => {
      const eq = word.indexOf('=');
      const name = eq === -1 ? word : word.slice(0, eq);
      const given = this.req.buildArgs[name];
      if (given !== undefined && given !== null) return [name, given];
      if (eq !== -1) return [name, expandWord(word.slice(eq + 1), vars, this.escape)];
      return [name, this.globalArgs.get(name)];
    });
  }

  private async runStep(
    state: StageState,
    ins: Instruction,
    stages: Stage[],
    stage: Stage,
  ): Promise<StageState> {
    const vars = this.varsOf(state);
    switch (ins.keyword) {
      case 'FROM':
        throw new InvalidArgumentError('FROM is not allowed here');
      case 'ARG': {
        const args = new Map(state.args);
        for (const [name, value] of this.declaredArgs(ins, vars)) {
          this.consumedArgs.add(name);
          if (value !== undefined) args.set(name, value);
        }
        return { ...state, args };
      }
      case 'MAINTAINER': {
        const author = expandWord(ins.args, vars, this.escape);
        return this.configStep({ ...state, author }, state.config, ins);
      }
      case 'RUN':
        return this.runCommand(state, ins, stages, stage);
      case 'COPY':
      case 'ADD':
        return this.copy(state, ins, stages, stage);
      default: {
        if (!CONFIG_KEYWORDS.has(ins.keyword))
          throw parseError(ins.line, `unknown instruction: ${ins.keyword}`);
        const config = applyConfigStep(state.config, ins, {
          vars,
          escape: this.escape,
          shell: state.shell,
          isCmdSet: state.isCmdSet,
        });
        const next: StageState = {
          ...state,
          ...(ins.keyword === 'SHELL' ? { shell: shellOf(ins) } : {}),
          ...(ins.keyword === 'CMD' ? { isCmdSet: true } : {}),
        };
        if (ins.keyword === 'WORKDIR') return this.workdir(next, config, ins);
        return this.configStep(next, config, ins);
      }
    }
  }

  /** A metadata-only step: an image with the new config and no layer. */
  private async configStep(
    state: StageState,
    config: ImageRuntimeConfig,
    ins: Instruction,
  ): Promise<StageState> {
    const key: StepKey = {
      parent: state.imageId ?? 'scratch',
      instruction: JSON.stringify([ins.keyword, config, state.author]),
      args: [],
      files: '',
    };
    return this.cached(state, key, config, async () => {
      const image = await this.deps.images.createFromConfig({
        ...(state.imageId ? { parentId: state.imageId } : {}),
        config,
        createdBy: `/bin/sh -c #(nop) ${ins.original}`,
        ...(state.author ? { author: state.author } : {}),
      });
      return image.id;
    });
  }

  /** Looks the step up in the cache; on a miss runs `make` and records what it made. */
  private async cached(
    state: StageState,
    key: StepKey,
    config: ImageRuntimeConfig,
    make: () => Promise<string>,
  ): Promise<StageState> {
    const cacheKey = cacheKeyOf(key);
    if (!this.req.noCache) {
      const hit = this.deps.cache.get(cacheKey);
      if (hit) {
        const image = await this.deps.images.resolve(hit.imageId).catch((e: unknown) => {
          if (e instanceof NotFoundError) return undefined;
          throw e;
        });
        if (image) {
          state.out.stream(' ---> Using cache\n');
          return { ...state, imageId: image.id, config: { ...(image.config.config ?? {}) } };
        }
        await this.deps.cache.delete(cacheKey);
      }
    }
    const imageId = await make();
    await this.deps.cache.set(cacheKey, imageId);
    return { ...state, imageId, config };
  }

  /** An image to start a container from: `FROM scratch` gets an empty one on first use. */
  private async imageOf(state: StageState): Promise<string> {
    if (state.imageId) return state.imageId;
    const image = await this.deps.images.createFromConfig({ config: state.config, createdBy: '' });
    return image.id;
  }

  private argEnv(state: StageState): string[] {
    const envNames = new Set((state.config.Env ?? []).map((e) => e.split('=')[0]));
    const env: string[] = [];
    for (const [name, value] of state.args) if (!envNames.has(name)) env.push(`${name}=${value}`);
    for (const name of PROXY_ARGS) {
      const value = this.req.buildArgs[name];
      if (value !== undefined && value !== null && !state.args.has(name)) env.push(`${name}=${value}`);
    }
    return env.sort();
  }

  private async runCommand(
    state: StageState,
    ins: Instruction,
    stages: Stage[],
    stage: Stage,
  ): Promise<StageState> {
    let cmd = commandOf(ins, state.shell);
    const heredoc = ins.heredocs[0];
    if (heredoc && !ins.json) {
      const script = ins.args.trim().replace(/^<<-?["']?[A-Za-z_][A-Za-z0-9_]*["']?$/, '');
      // A lone here-document is the script; otherwise the shell reads the documents itself.
      cmd =
        script === ''
          ? [...state.shell, heredoc.content]
          : [...state.shell, `${ins.args}\n${ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('')}`];
    }
    let networkMode = this.req.networkMode;
    const mounts: (() => Promise<string>)[] = [];
    const mountKeys: string[] = [];
    for (const flag of ins.flags) {
      if (flag.name === 'network') {
        networkMode = flag.value === 'default' ? this.req.networkMode : flag.value;
        mountKeys.push(`network=${flag.value}`);
      } else if (flag.name === 'mount') {
        const { bind, key } = await this.mountOf(flag.value, state, stages, stage);
        mounts.push(bind);
        mountKeys.push(key);
      } else {
        throw new InvalidArgumentError(`Unknown flag: ${flag.name}`);
      }
    }
    const argEnv = this.argEnv(state);
    const createdBy =
      argEnv.length > 0 ? `|${argEnv.length} ${argEnv.join(' ')} ${cmd.join(' ')}` : cmd.join(' ');
    const key: StepKey = {
      parent: state.imageId ?? 'scratch',
      instruction: JSON.stringify(['RUN', cmd, mountKeys]),
      args: argEnv,
      files: '',
    };
    return this.cached(state, key, state.config, async () => {
      const imageId = await this.imageOf(state);
      const mode = networkMode === '' || networkMode === 'default' ? 'bridge' : networkMode;
      const binds: string[] = [];
      for (const mount of mounts) binds.push(await mount());
      const { id } = await this.deps.containers.create({
        Image: imageId,
        Cmd: cmd,
        Entrypoint: [],
        Env: [...(state.config.Env ?? []), ...argEnv],
        User: state.config.User ?? '',
        WorkingDir: state.config.WorkingDir ?? '',
        Healthcheck: { Test: ['NONE'] },
        AttachStdout: true,
        AttachStderr: true,
        HostConfig: {
          NetworkMode: mode,
          Binds: binds,
          ...(this.req.extraHosts.length > 0 ? { ExtraHosts: this.req.extraHosts } : {}),
          ...(this.req.shmSizeBytes ? { ShmSize: this.req.shmSizeBytes } : {}),
          ...(this.req.memoryBytes ? { Memory: this.req.memoryBytes } : {}),
          ...(this.req.cpusetCpus ? { CpusetCpus: this.req.cpusetCpus } : {}),
        },
      });
      state.out.stream(` ---> Running in ${short(id)}\n`);
      let isOk = false;
      try {
        const stopReading = new AbortController();
        const onAbort = () => {
          void this.deps.containers.remove(id).catch(() => undefined);
        };
        if (this.signal.aborted) onAbort();
        this.signal.addEventListener('abort', onAbort, { once: true });
        try {
          const output = this.deps.containers.attachOutput(id, stopReading.signal);
          const pump = (async () => {
            for await (const line of output) state.out.stream(line.content.toString('utf8'));
          })();
          try {
            await this.deps.containers.start(id);
          } catch (e) {
            stopReading.abort();
            await pump.catch(() => undefined);
            throw e;
          }
          await pump;
          const code = await this.deps.containers.wait(id);
          if (code !== 0) {
            throw new StepFailedError(
              `The command '${cmd.join(' ')}' returned a non-zero code: ${code}`,
              code,
            );
          }
        } finally {
          this.signal.removeEventListener('abort', onAbort);
        }
        const image = await this.deps.images.commit({
          containerId: id,
          imageId,
          config: state.config,
          createdBy,
          ...(state.author ? { author: state.author } : {}),
        });
        isOk = true;
        return image.id;
      } finally {
        if (isOk ? this.req.remove : this.req.forceRemove) {
          await this.deps.containers.remove(id);
          if (isOk) state.out.stream(` ---> Removed intermediate container ${short(id)}\n`);
        }
      }
    });
  }

  /**
   * `RUN --mount=type=cache|bind,...`: what it adds to the step's cache key, and how
   * to make its bind mount (only on a cache miss: a stage's files are copied out then).
   */
  private async mountOf(
    spec: string,
    state: StageState,
    stages: Stage[],
    stage: Stage,
  ): Promise<{ bind: () => Promise<string>; key: string }> {
    const fields = new Map<string, string>();
    for (const part of spec.split(',')) {
      const eq = part.indexOf('=');
      fields.set(eq === -1 ? part : part.slice(0, eq), eq === -1 ? 'true' : part.slice(eq + 1));
    }
    const type = fields.get('type') ?? 'bind';
    const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
    if (!target) throw new InvalidArgumentError(`mount ${spec}: target is required`);
    const absolute = posix.isAbsolute(target) ? target : posix.join(state.config.WorkingDir || '/', target);
    if (type === 'cache') {
      const id = fields.get('id') ?? absolute;
      const dir = join(
        this.deps.dir,
        'cache-mounts',
        cacheKeyOf({ parent: '', instruction: id, args: [], files: '' }).slice(0, 24),
      );
      await mkdir(dir, { recursive: true });
      return { bind: async () => `${dir}:${absolute}`, key: `cache:${id}:${absolute}` };
    }
    if (type === 'bind') {
      const rw = fields.get('rw') === 'true' || fields.get('readwrite') === 'true';
      const access = rw ? 'rw' : 'ro';
      const from = fields.get('from');
      if (from !== undefined) {
        // A stage's or an image's files, copied out so that writes (rw) never reach it.
        const source = posix.normalize(`/${fields.get('source') ?? fields.get('src') ?? '/'}`);
        const ref = expandWord(from, this.varsOf(state), this.escape);
        const imageId = await this.imageIdOf(ref, stages, stage);
        const bind = async () => {
          const staging = join(this.work, `mnt-${randomBytes(4).toString('hex')}`);
          if (source === '/') {
            await this.stageFromImage(imageId, ['/'], staging);
            return `${staging}:${absolute}:${access}`;
          }
          await this.stageFromImage(imageId, [source], staging);
          return `${join(staging, posix.basename(source))}:${absolute}:${access}`;
        };
        return { bind, key: `bind-from:${imageId}:${source}:${absolute}:${access}` };
      }
      const source = fields.get('source') ?? fields.get('src') ?? '.';
      const [found] = await resolveSources(this.contextDir, [source]);
      const hostPath = (found as Source).hostPath;
      const files = await checksumOf([found as Source], this.contextDigests);
      // What a RUN writes to a read-write bind is thrown away with it, as Docker does: it
      // gets a copy, and the context (and its digests) stay as they came.
      const bind = rw
        ? async () => {
            const staging = join(this.work, `mnt-${randomBytes(4).toString('hex')}`);
            await cp(hostPath, staging, {
              recursive: true,
              preserveTimestamps: true,
              verbatimSymlinks: true,
            });
            return `${staging}:${absolute}:${access}`;
          }
        : async () => `${hostPath}:${absolute}:${access}`;
      return {
        bind,
        key: `bind:${source}:${absolute}:${files}`,
      };
    }
    throw new InvalidArgumentError(`unsupported mount type ${type}`);
  }

  private async workdir(
    state: StageState,
    config: ImageRuntimeConfig,
    ins: Instruction,
  ): Promise<StageState> {
    const dir = config.WorkingDir ?? '/';
    const key: StepKey = {
      parent: state.imageId ?? 'scratch',
      instruction: JSON.stringify(['WORKDIR', config]),
      args: [],
      files: '',
    };
    return this.cached(state, key, config, async () => {
      const imageId = await this.imageOf(state);
      const { id } = await this.deps.containers.create({
        Image: imageId,
        Cmd: ['#(nop)', ins.original],
        Entrypoint: [],
      });
      try {
        const existing = await this.deps.containers.statPath(id, `${dir}/`);
        if (existing?.isDirectory) {
          const image = await this.deps.images.createFromConfig({
            parentId: imageId,
            config,
            createdBy: `/bin/sh -c #(nop) ${ins.original}`,
          });
          return image.id;
        }
        await this.writeInto(id, dir, [], { uid: 0, gid: 0 });
        const image = await this.deps.images.commit({
          containerId: id,
          imageId,
          config,
          createdBy: `/bin/sh -c #(nop) ${ins.original}`,
        });
        return image.id;
      } finally {
        await this.deps.containers.remove(id);
      }
    });
  }

  /**
   * Writes `placements` (names relative to `dir`) into the container, creating `dir`
   * and its missing parents: the tar goes to the deepest directory that exists.
   */
  private async writeInto(
    containerId: string,
    dir: string,
    placements: Placement[],
    owner: { uid: number; gid: number },
    mode?: number,
  ): Promise<void> {
    const parts = dir.split('/').filter((p) => p !== '');
    let existing = parts.length;
    for (; existing > 0; existing--) {
      const stat = await this.deps.containers.statPath(
        containerId,
        `/${parts.slice(0, existing).join('/')}/`,
      );
      if (stat?.isDirectory) break;
      if (stat)
        throw new InvalidArgumentError(
          `cannot copy to /${parts.slice(0, existing).join('/')}: not a directory`,
        );
    }
    const missing = parts.slice(existing);
    const prefix = missing.join('/');
    const parents = missing.map((_, i) => missing.slice(0, i + 1).join('/'));
    const named = placements.map((p) => ({ ...p, name: [prefix, p.name].filter((s) => s !== '').join('/') }));
    const tar = packSources(named, { parents, owner, ...(mode === undefined ? {} : { mode }) });
    await this.deps.containers.putArchive(containerId, `/${parts.slice(0, existing).join('/')}`, tar);
  }

  private async copy(
    state: StageState,
    ins: Instruction,
    stages: Stage[],
    stage: Stage,
  ): Promise<StageState> {
    const vars = this.varsOf(state);
    for (const flag of ins.flags) {
      if (!COPY_FLAGS.has(flag.name)) throw new InvalidArgumentError(`Unknown flag: ${flag.name}`);
    }
    const flag = (name: string) => ins.flags.find((f) => f.name === name)?.value;
    const words = ins.json ?? expandWords(ins.args, vars, this.escape);
    if (words.length < 2) throw new InvalidArgumentError(`${ins.keyword} requires at least two arguments`);
    const rawDest = words[words.length - 1] as string;
    let patterns = words.slice(0, -1);
    const dest = posix.isAbsolute(rawDest) ? rawDest : posix.join(state.config.WorkingDir || '/', rawDest);
    const destIsDir = rawDest.endsWith('/') || rawDest.endsWith('/.') || rawDest === '.';

    // Where the sources come from: the context, here-documents, or another stage or image.
    let root = this.contextDir;
    let fromKey = 'context';
    const from = flag('from');
    const staging = join(this.work, `src-${randomBytes(4).toString('hex')}`);
    if (ins.heredocs.length > 0) {
      await mkdir(staging, { recursive: true });
      for (const doc of ins.heredocs) {
        const content = doc.expands ? expandWord(doc.content, vars, this.escape) : doc.content;
        await writeFile(join(staging, doc.name), content, { mode: 0o644 });
      }
      patterns = patterns.map((p) => p.replace(/^<<-?["']?([A-Za-z_][A-Za-z0-9_]*)["']?$/, '$1'));
      root = staging;
      fromKey = 'heredoc';
    } else if (from !== undefined) {
      const fromRef = expandWord(from, vars, this.escape);
      const imageId = await this.imageIdOf(fromRef, stages, stage);
      await this.stageFromImage(imageId, patterns, staging);
      patterns = patterns.map((p) => posix.basename(posix.normalize(`/${p}`)) || '.');
      root = staging;
      fromKey = imageId;
    } else {
      for (const pattern of patterns) {
        if (/^https?:\/\//.test(pattern)) {
          throw new InvalidArgumentError(`${ins.keyword} from a URL is not supported: ${pattern}`);
        }
      }
    }
    const sources = await resolveSources(root, patterns);
    if (sources.length > 1 && !destIsDir) {
      throw new InvalidArgumentError(
        `When using ${ins.keyword} with more than one source file, the destination must be a directory and end with a /`,
      );
    }
    const files = await checksumOf(sources, this.contextDigests);
    const chown = flag('chown');
    const chmod = flag('chmod');
    let mode: number | undefined;
    if (chmod !== undefined) {
      if (!/^[0-7]{3,4}$/.test(chmod)) throw new InvalidArgumentError(`invalid chmod parameter: ${chmod}`);
      mode = Number.parseInt(chmod, 8);
    }
    const key: StepKey = {
      parent: state.imageId ?? 'scratch',
      instruction: JSON.stringify([
        ins.keyword,
        fromKey,
        chown,
        chmod,
        sources.map((s) => s.relative),
        dest,
        destIsDir,
      ]),
      args: [],
      files,
    };
    const createdBy = `/bin/sh -c #(nop) ${ins.keyword} ${fromKey === 'context' ? '' : `--from=${fromKey} `}${words.join(' ')}`;
    return this.cached(state, key, state.config, async () => {
      const imageId = await this.imageOf(state);
      const { id } = await this.deps.containers.create({
        Image: imageId,
        Cmd: ['#(nop)', ins.original],
        Entrypoint: [],
      });
      try {
        const owner = chown
          ? await readOwner(this.deps.containers, id, expandWord(chown, vars, this.escape))
          : { uid: 0, gid: 0 };
        const existing = await this.deps.containers.statPath(id, `${dest}/`);
        const intoDir =
          destIsDir || existing?.isDirectory === true || sources.some((s) => s.stats.isDirectory() && false);
        const targetDir = intoDir ? dest : posix.dirname(dest);
        const placements: Placement[] = [];
        for (const source of sources) {
          if (
            ins.keyword === 'ADD' &&
            fromKey === 'context' &&
            source.stats.isFile() &&
            (await isArchive(source.hostPath))
          ) {
            await this.writeInto(id, dest, [], owner);
            const stream = createReadStream(source.hostPath).pipe(new MaybeGunzip());
            await this.deps.containers.putArchive(id, dest, stream);
            continue;
          }
          if (source.stats.isDirectory()) {
            placements.push({ source, name: intoDir ? '' : posix.basename(dest) });
          } else {
            placements.push({
              source,
              name: intoDir ? posix.basename(source.relative) : posix.basename(dest),
            });
          }
        }
        if (placements.length > 0) await this.writeInto(id, targetDir, placements, owner, mode);
        const image = await this.deps.images.commit({
          containerId: id,
          imageId,
          config: state.config,
          createdBy,
          ...(state.author ? { author: state.author } : {}),
        });
        return image.id;
      } finally {
        await this.deps.containers.remove(id);
        await rm(staging, { recursive: true, force: true });
      }
    });
  }

  /** The image `--from=` names: an earlier stage's result, else an image. */
  private async imageIdOf(ref: string, stages: Stage[], stage: Stage): Promise<string> {
    const dep = this.stageOf(stages, ref, stage.index);
    const imageId = dep ? this.results.get(dep.index)?.imageId : (await this.deps.images.resolve(ref)).id;
    if (!imageId) throw new InvalidArgumentError(`stage ${ref} made no image`);
    return imageId;
  }

  /** Copies each path out of an image into `staging`, named by its base name (`COPY --from`). */
  private async stageFromImage(imageId: string, paths: string[], staging: string): Promise<void> {
    await mkdir(staging, { recursive: true });
    const { id } = await this.deps.containers.create({
      Image: imageId,
      Cmd: ['#(nop)', 'COPY'],
      Entrypoint: [],
    });
    try {
      for (const path of paths) {
        const tar = await this.deps.containers
          .getArchive(id, posix.normalize(`/${path}`))
          .catch((e: unknown) => {
            if (e instanceof NotFoundError) {
              throw new NotFoundError(`failed to compute cache key: "${path}" not found in the source image`);
            }
            throw e;
          });
        await applyLayerTar(tar, staging, `stage path ${path}`, { plainNames: true });
      }
    } finally {
      await this.deps.containers.remove(id);
    }
  }
}

/** ADD unpacks local tar archives (plain or gzip). */
async function isArchive(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await file.read(head, 0, 512, 0);
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await file.close();
  }
}

function splitTag(ref: string): { repo: string; tagName: string | undefined } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { repo: ref.slice(0, colon), tagName: ref.slice(colon + 1) };
  return { repo: ref, tagName: undefined };
}
