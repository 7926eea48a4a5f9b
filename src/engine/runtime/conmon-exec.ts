import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, ConflictError, InvalidArgumentError } from '../../api/index.js';
import { ConmonExecError, spawnExecConmon } from '../../platform/index.js';
import { grantableCapabilities } from './capabilities.js';
import type { ExecProcess, ExecProcessOptions, OciSpec } from './types.js';
import { resolveUser } from './user.js';

type OciProcess = Record<string, unknown> & { env?: string[]; cwd?: string };

/** Where exec sessions live: `<execsDir>/<execId>`; their attach sockets are linked from `attachDir`. */
export interface ExecLayout {
  execsDir: string;
  attachDir: string;
  runcRoot: string;
}

/** Docker's exec environment: the container's, then the exec's, later names replacing earlier ones. */
export function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const entry of [...base, ...extra]) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    byName.delete(name);
    byName.set(name, entry);
  }
  return [...byName.values()];
}

/**
 * The OCI process `runc exec` runs: the container's own process (capabilities, rlimits,
 * no-new-privileges ...) with the exec's command, environment, directory, user and TTY.
 */
export async function buildExecProcess(spec: OciSpec, opts: ExecProcessOptions): Promise<OciProcess> {
  const base = (spec.process ?? {}) as OciProcess;
  const rootfs = (spec.root as { path?: string } | undefined)?.path;
  const env = mergeEnv(base.env ?? [], [...(opts.terminal ? ['TERM=xterm'] : []), ...opts.env]);
  const process: OciProcess = {
    ...base,
    terminal: opts.terminal,
    args: opts.args,
    env,
    cwd: opts.cwd || base.cwd || '/',
  };
  delete process.consoleSize;
  if (opts.user !== '') {
    if (rootfs === undefined) throw new BerthError(`container ${opts.containerId} has no root path`);
    process.user = await resolveUser(rootfs, opts.user);
  }
  if (opts.privileged) {
    const all = await grantableCapabilities();
    process.capabilities = { bounding: all, effective: all, permitted: all, inheritable: all, ambient: all };
  }
  return process;
}

/** runc's words for a command that cannot run, with Docker's prefix. */
function execError(e: ConmonExecError): Error {
  const text = e.runtimeMessage.trim().replace(/^.*?level=error msg="(.*)"$/s, '$1');
  const message = `OCI runtime exec failed: ${text}: unknown`;
  if (/executable file not found|no such file or directory|permission denied/.test(text)) {
    return new InvalidArgumentError(message, { cause: e });
  }
  if (/not running|cannot exec in a stopped/.test(text)) return new ConflictError(message, { cause: e });
  return new BerthError(message, { cause: e });
}

export async function runExec(
  layout: ExecLayout,
  conmon: { binary: string; runtimePath: string },
  opts: ExecProcessOptions,
): Promise<ExecProcess> {
  const dir = join(layout.execsDir, opts.execId);
  // The container's bundle, reached through the link its conmon keeps while it runs.
  const specText = await readFile(join(layout.attachDir, opts.containerId, 'config.json'), 'utf8').catch(
    (e: unknown) => {
      throw new ConflictError(`container ${opts.containerId} is not running`, { cause: e });
    },
  );
  const spec = JSON.parse(specText) as OciSpec;
  const process = await buildExecProcess(spec, opts);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const processSpecPath = join(dir, 'process.json');
  // Read once by runc right away and never again: no need to reach the disk.
  await writeFile(processSpecPath, JSON.stringify(process), { mode: 0o600 });
  const logPath = join(dir, 'exec.log');
  try {
    const { pid, exited } = await spawnExecConmon({
      binary: conmon.binary,
      runtimePath: conmon.runtimePath,
      runtimeArgs: [`--root=${layout.runcRoot}`],
      containerId: opts.containerId,
      execId: opts.execId,
      dir,
      processSpecPath,
      socketDir: layout.attachDir,
      logPath,
      stdin: opts.stdin,
      terminal: opts.terminal,
    });
    return { pid, logPath, exited };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e instanceof ConmonExecError ? execError(e) : e;
  }
}

export async function removeExec(layout: ExecLayout, execId: string): Promise<void> {
  await rm(join(layout.execsDir, execId), { recursive: true, force: true });
  await rm(join(layout.attachDir, execId), { force: true });
}
