/**
 * Dockerfile builds (issues 7 and 8): the real `docker build` with the classic builder
 * (DOCKER_BUILDKIT=0: this CLI has no buildx) against berth and dockerd, `podman build`
 * (Buildah) for Podman; cold (`--no-cache`) and cached, and the cached rebuild of a
 * large context of many files.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Engine, mustRun } from './engines.js';
import { type Measured, record, rounds, timed } from './sampling.js';

export interface BuildConfig {
  warmup: number;
  /** Rounds of the build and registry scenarios. */
  buildIterations: number;
  /** Files in the small build context. */
  buildFiles: number;
  /** Files and total size of the large context (issue 8: ~10,000 files, ~100 MB). */
  bigContextFiles: number;
  bigContextMiB: number;
  workDir: string;
}

const CLASSIC = { DOCKER_BUILDKIT: '0' };
const BUILD_TIMEOUT_MS = 600_000;
/** What each CLI prints once for each step after FROM that the cache served. */
function cacheHits(e: Engine, stdout: string): number {
  const line = e.name === 'podman' ? /^--> Using cache [0-9a-f]+$/gm : /^ ---> Using cache$/gm;
  return stdout.match(line)?.length ?? 0;
}

const SMALL_DOCKERFILE = [
  'FROM busybox',
  'COPY . /ctx/',
  'RUN find /ctx -type f | wc -l > /ctx-files',
  'RUN du -s /ctx > /ctx-size',
  '',
].join('\n');
const BIG_DOCKERFILE = ['FROM busybox', 'COPY . /ctx/', 'RUN du -s /ctx > /ctx-size', ''].join('\n');

/** Steps after FROM, each of which a full cache hit reports. */
function stepsAfterFrom(dockerfile: string): number {
  return dockerfile.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('FROM ')).length;
}

/**
 * A context of `files` files of random (incompressible) bytes, `bytes` in all, 100 to a
 * directory, with the Dockerfile at its root.
 */
function makeContext(dir: string, dockerfile: string, files: number, bytes: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  const size = Math.max(1, Math.floor(bytes / files));
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub);
    writeFileSync(join(sub, `f${i}.bin`), randomBytes(size));
  }
}

/** A build that must succeed; with `cachedSteps`, every one of them must have come from the cache. */
async function build(e: Engine, args: readonly string[], cachedSteps?: number): Promise<void> {
  const r = await mustRun(e, ['build', ...args], BUILD_TIMEOUT_MS, CLASSIC);
  if (cachedSteps === undefined) return;
  const hits = cacheHits(e, r.stdout);
  // A "cached" figure that rebuilt something would compare different work.
  if (hits !== cachedSteps)
    throw new Error(
      `${e.name}: cached build used the cache for ${hits} of ${cachedSteps} steps:\n${r.stdout}`,
    );
}

export async function buildScenarios(
  engines: readonly Engine[],
  cfg: BuildConfig,
  m: Measured,
  progress: (line: string) => void,
): Promise<void> {
  const warmup = Math.min(cfg.warmup, 1);

  progress(`build of a ${cfg.buildFiles}-file context, cold (--no-cache) and cached`);
  const small = join(cfg.workDir, 'build-small');
  makeContext(small, SMALL_DOCKERFILE, cfg.buildFiles, cfg.buildFiles * 10 * 1024);
  const smallSteps = stepsAfterFrom(SMALL_DOCKERFILE);
  await rounds(warmup, cfg.buildIterations, engines, async (e, keep) => {
    const cold = await timed(() => build(e, ['--no-cache', '-t', 'bench-build:cold', small]));
    const cached = await timed(() => build(e, ['-t', 'bench-build:cached', small], smallSteps));
    if (keep) {
      record(m, 'build-cold', e.name, cold.ms);
      record(m, 'build-cached', e.name, cached.ms);
    }
  });
  for (const e of engines) await mustRun(e, ['rmi', 'bench-build:cold', 'bench-build:cached']);
  rmSync(small, { recursive: true, force: true });

  progress(`cached rebuild of a ${cfg.bigContextMiB} MiB context in ${cfg.bigContextFiles} files`);
  const big = join(cfg.workDir, 'build-big');
  makeContext(big, BIG_DOCKERFILE, cfg.bigContextFiles, cfg.bigContextMiB * 1024 * 1024);
  const bigSteps = stepsAfterFrom(BIG_DOCKERFILE);
  // The first build fills each engine's cache; only rebuilds are measured.
  for (const e of engines) await build(e, ['-t', 'bench-build:big', big]);
  await rounds(warmup, cfg.buildIterations, engines, async (e, keep) => {
    const { ms } = await timed(() => build(e, ['-t', 'bench-build:big', big], bigSteps));
    if (keep) record(m, 'build-big-cached', e.name, ms);
  });
  for (const e of engines) await mustRun(e, ['rmi', 'bench-build:big']);
  rmSync(big, { recursive: true, force: true });
}
