/** What the build tests share: context directories, a classic-builder build, a run's output. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { assertOk, type Daemon, type RunResult } from '../../harness/index.js';

/** Writes `files` (path -> content) under `dir` and returns it: a build context. */
export function writeContext(dir: string, files: Record<string, string>): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** The docker CLI's switch to the classic builder's API (this docker CLI has no buildx). */
export const CLASSIC = { DOCKER_BUILDKIT: '0' };

/** `docker build` with the classic builder. */
export function classicBuild(d: Daemon, args: string[], opts: { input?: Buffer } = {}): Promise<RunResult> {
  return d.docker(['build', ...args], { env: CLASSIC, timeoutMs: 60_000, ...opts });
}

/** What `image` (with `cmd`, if given) prints, run without a network. */
export async function runOutput(d: Daemon, image: string, ...cmd: string[]): Promise<string> {
  const out = assertOk(
    await d.docker(['run', '--rm', '--network', 'none', '--pull', 'never', image, ...cmd]),
    `run ${image}`,
  );
  return out.stdout;
}
