/**
 * The engines under test, each private to this run: a berthd from the test harness, a
 * dockerd (with the containerd it manages) of its own, podman over its own storage,
 * and raw runc as the floor. stop() leaves nothing of them on the host.
 */

import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUpHost } from '../test/harness/cleanup.js';
import { type RunResult, rootfsTar, runProgram, startDaemon, waitFor } from '../test/harness/index.js';
import { StopWaiting } from '../test/harness/process.js';
import { type EngineProcesses, enginePids } from './processes.js';

export type EngineName = 'berth' | 'docker' | 'podman';

export interface CliRunOptions {
  timeoutMs?: number;
  /** Extra environment for this one run (DOCKER_BUILDKIT=0, say). */
  env?: Record<string, string>;
}

export interface Engine {
  name: EngineName;
  /** Runs the engine's own CLI (docker for berth and Docker, podman for Podman). */
  cli(args: readonly string[], opts?: CliRunOptions): Promise<RunResult>;
  /** Flags every `run` gets, before the image (Podman's private cgroup parent). */
  runFlags: string[];
  /** The engine's processes, for memory figures. */
  processes(): EngineProcesses;
  version(): Promise<string>;
  stop(): Promise<void>;
}

/** Runs a CLI and throws with its output when it fails: a benchmark of a failure means nothing. */
export async function mustRun(
  e: Engine,
  args: readonly string[],
  timeoutMs = 120_000,
  env: Record<string, string> = {},
): Promise<RunResult> {
  const r = await e.cli(args, { timeoutMs, env });
  if (r.code !== 0) {
    throw new Error(`${e.name}: ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-1000)}`);
  }
  return r;
}

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // A user's docker context or TLS settings must not redirect the CLI elsewhere.
  for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION'])
    delete env[k];
  return Object.assign(env, { DOCKER_CLI_HINTS: 'false', NO_COLOR: '1' }, extra);
}

function throwProblems(what: string, problems: string[]): void {
  if (problems.length > 0) throw new Error(`${what} left things behind: ${problems.join('; ')}`);
}

export async function startBerth(): Promise<Engine & { logFile: string }> {
  const d = await startDaemon();
  const markers = [`${d.dataRoot}/`, `${d.execRoot}/`];
  return {
    name: 'berth',
    logFile: d.logFile,
    runFlags: [],
    cli: (args, opts) =>
      d.docker(args, {
        ...(opts?.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts?.env ? { env: opts.env } : {}),
      }),
    processes: () => ({ daemonPid: d.pid, markers }),
    version: async () => {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version: string;
      };
      return `berthd ${pkg.version} (git ${await gitRevision()})`;
    },
    stop: () => d.stop(),
  };
}

async function gitRevision(): Promise<string> {
  const r = await runProgram('git', [
    '-C',
    new URL('../..', import.meta.url).pathname,
    'rev-parse',
    '--short',
    'HEAD',
  ]);
  return r.code === 0 ? r.stdout.trim() : 'unknown';
}

/**
 * dockerd with its own roots, socket, pidfile, cgroup parent and a bridge we make
 * (dockerd's --bridge takes an existing one). --iptables=false, --ip-masq=false and
 * --ip-forward=false keep it from adding firewall rules or flipping sysctls that
 * would outlive it; containers on its bridge then have no NAT, which no scenario needs.
 */
export async function startDocker(): Promise<Engine> {
  if (existsSync('/run/containerd/containerd.sock')) {
    // dockerd would use a system containerd instead of managing its own.
    throw new Error(
      'a system containerd runs (/run/containerd/containerd.sock); the bench wants a private one',
    );
  }
  const hex = randomBytes(3).toString('hex');
  const tempDir = mkdtempSync(join(tmpdir(), `berth-bench-docker-${hex}-`));
  const execRoot = `/run/bd-${hex}`;
  const socket = join(execRoot, 'docker.sock');
  const bridge = `bd${hex}`;
  const cgroupParent = `/bd-${hex}`;
  const cidr = `10.${randomInt(100, 251)}.${randomInt(0, 256)}.1/24`;
  const footprint = {
    roots: [tempDir, execRoot],
    bridge,
    nftTable: `bd_${hex}`,
    cgroupParent,
    netnsPrefix: `bd${hex}-`,
  };
  const env = cleanEnv({ DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(tempDir, 'cli') });
  mkdirSync(join(tempDir, 'cli'));
  mkdirSync(execRoot, { mode: 0o700 });
  writeFileSync(join(tempDir, 'daemon.json'), '{}\n');
  const logFile = join(tempDir, 'dockerd.log');
  let pid: number | undefined;
  const engine: Engine = {
    name: 'docker',
    runFlags: [],
    cli: (args, opts) =>
      runProgram('docker', args, { env: { ...env, ...opts?.env }, timeoutMs: opts?.timeoutMs ?? 120_000 }),
    processes: () => ({ daemonPid: pid, markers: [`${execRoot}/`, `${tempDir}/`] }),
    version: async () => {
      const r = await runProgram('docker', ['version', '--format', '{{.Server.Version}}'], { env });
      return `dockerd ${r.stdout.trim()}`;
    },
    stop: async () => {
      const problems: string[] = [];
      if (pid !== undefined) {
        await removeAllContainers(engine).catch((e: unknown) => problems.push(String(e)));
        process.kill(pid, 'SIGTERM');
        const dockerdPid = pid;
        await waitFor('dockerd to exit', () => !existsSync(`/proc/${dockerdPid}`), {
          timeoutMs: 30_000,
        }).catch((e: unknown) => {
          problems.push(String(e));
          process.kill(dockerdPid, 'SIGKILL');
        });
      }
      // dockerd stops the containerd it manages; a shim or containerd left over is ours to end.
      await killByMarkers([`${execRoot}/`, `${tempDir}/`]);
      problems.push(...(await cleanUpHost(footprint)));
      rmSync(tempDir, { recursive: true, force: true });
      rmSync(execRoot, { recursive: true, force: true });
      throwProblems('dockerd', problems);
    },
  };
  try {
    await mustRunHost('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await mustRunHost('ip', ['addr', 'add', cidr, 'dev', bridge]);
    await mustRunHost('ip', ['link', 'set', bridge, 'up']);
    const logFd = openSync(logFile, 'a');
    const child = spawn(
      'dockerd',
      [
        '--config-file',
        join(tempDir, 'daemon.json'),
        '--data-root',
        join(tempDir, 'data'),
        '--exec-root',
        execRoot,
        '--host',
        `unix://${socket}`,
        '--pidfile',
        join(execRoot, 'dockerd.pid'),
        '--bridge',
        bridge,
        '--iptables=false',
        '--ip-masq=false',
        '--ip-forward=false',
        '--ip6tables=false',
        '--userland-proxy=false',
        '--cgroup-parent',
        cgroupParent,
        '--storage-driver',
        'overlay2',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', logFd, logFd], env: cleanEnv({}) },
    );
    closeSync(logFd);
    child.unref();
    pid = child.pid;
    await waitFor(
      'dockerd to answer docker version',
      async () => {
        if (pid === undefined || !existsSync(`/proc/${pid}`)) throw new StopWaiting('dockerd exited');
        const r = await runProgram('docker', ['version', '--format', '{{.Server.Version}}'], {
          env,
          timeoutMs: 5000,
        });
        return r.code === 0;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  } catch (e) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-3000) : '(no log)';
    await engine.stop().catch((stopError: unknown) => process.stderr.write(`bench: ${String(stopError)}\n`));
    throw new Error(
      `dockerd did not start: ${e instanceof Error ? e.message : String(e)}\n--- dockerd log:\n${log}`,
      {
        cause: e,
      },
    );
  }
  return engine;
}

/**
 * podman with its own root, runroot, tmpdir and events log, runc as the runtime,
 * and a CNI bridge network of its own (no firewall or masquerade plugins, like the
 * dockerd above) as its default network. The ulimits line is needed here: without
 * CAP_SYS_RESOURCE podman cannot raise the default nofile limit.
 */
export async function startPodman(): Promise<Engine> {
  const hex = randomBytes(3).toString('hex');
  const tempDir = mkdtempSync(join(tmpdir(), `berth-bench-podman-${hex}-`));
  const runRoot = `/run/bp-${hex}`;
  const bridge = `bp${hex}`;
  const cgroupParent = `/bp-${hex}`;
  const a = randomInt(100, 251);
  const b = randomInt(0, 256);
  const cniDir = join(tempDir, 'cni');
  mkdirSync(cniDir);
  mkdirSync(join(tempDir, 'tmp'));
  writeFileSync(
    join(cniDir, 'bench.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'bench',
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            // Leases beside the rest of this run's state, not in /var/lib/cni.
            dataDir: join(tempDir, 'cni-leases'),
            routes: [{ dst: '0.0.0.0/0' }],
            ranges: [[{ subnet: `10.${a}.${b}.0/24`, gateway: `10.${a}.${b}.1` }]],
          },
        },
      ],
    }),
  );
  const conf = join(tempDir, 'containers.conf');
  writeFileSync(
    conf,
    [
      '[containers]',
      'default_ulimits = []',
      '[engine]',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      `events_logfile_path = "${join(tempDir, 'events.log')}"`,
      `tmp_dir = "${join(tempDir, 'tmp')}"`,
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${cniDir}"`,
      'default_network = "bench"',
      'cni_plugin_dirs = ["/usr/lib/cni"]',
      '',
    ].join('\n'),
  );
  const env = cleanEnv({ CONTAINERS_CONF: conf });
  const globalFlags = ['--root', join(tempDir, 'root'), '--runroot', runRoot, '--runtime', 'runc'];
  const footprint = {
    roots: [tempDir, runRoot],
    bridge,
    nftTable: `bp_${hex}`,
    cgroupParent,
    netnsPrefix: `bp${hex}-`,
  };
  const engine: Engine = {
    name: 'podman',
    runFlags: ['--cgroup-parent', cgroupParent],
    cli: (args, opts) =>
      runProgram('podman', [...globalFlags, ...args], {
        env: { ...env, ...opts?.env },
        timeoutMs: opts?.timeoutMs ?? 120_000,
      }),
    processes: () => ({ daemonPid: undefined, markers: [`${tempDir}/`, `${runRoot}/`] }),
    version: async () => {
      const r = await runProgram('podman', ['--version'], { env });
      return r.stdout.trim();
    },
    stop: async () => {
      const problems: string[] = [];
      await removeAllContainers(engine).catch((e: unknown) => problems.push(String(e)));
      problems.push(...(await cleanUpHost(footprint)));
      rmSync(tempDir, { recursive: true, force: true });
      rmSync(runRoot, { recursive: true, force: true });
      throwProblems('podman', problems);
    },
  };
  return engine;
}

async function removeAllContainers(e: Engine): Promise<void> {
  const ps = await mustRun(e, ['ps', '-aq']);
  const ids = ps.stdout.split('\n').filter((s) => s.trim() !== '');
  if (ids.length > 0) await mustRun(e, ['rm', '-f', ...ids]);
}

async function mustRunHost(program: string, args: readonly string[]): Promise<void> {
  const r = await runProgram(program, args, { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${program} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
}

/** Ends leftover engine processes (shims, containerd) whose command line names our directories. */
async function killByMarkers(markers: readonly string[]): Promise<void> {
  const pids = enginePids({ daemonPid: undefined, markers: [...markers] });
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await waitFor('leftover engine processes to exit', () => pids.every((p) => !existsSync(`/proc/${p}`)), {
    timeoutMs: 10_000,
  });
}

/**
 * Raw `runc run` of a bundle holding the same busybox root filesystem: the floor, what
 * a container start costs with no engine at all. Its spec is runc's own default with
 * `true` as the process, so it has a network namespace but no interface in it.
 */
export interface RuncFloor {
  runTrue(): Promise<void>;
  version(): Promise<string>;
  stop(): Promise<void>;
}

export async function startRuncFloor(): Promise<RuncFloor> {
  const hex = randomBytes(3).toString('hex');
  const tempDir = mkdtempSync(join(tmpdir(), `berth-bench-runc-${hex}-`));
  const bundle = join(tempDir, 'bundle');
  const stateRoot = `/run/br-${hex}`;
  const cgroupParent = `/br-${hex}`;
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  await mustRunHost('tar', ['-xf', await rootfsTar(), '-C', join(bundle, 'rootfs')]);
  await mustRunHost('runc', ['spec', '--bundle', bundle]);
  const specPath = join(bundle, 'config.json');
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as {
    process: { args: string[]; terminal: boolean };
    linux: { cgroupsPath?: string };
  };
  spec.process.args = ['true'];
  spec.process.terminal = false;
  let n = 0;
  const footprint = {
    roots: [tempDir, stateRoot],
    bridge: `br${hex}`,
    nftTable: `br_${hex}`,
    cgroupParent,
    netnsPrefix: `br${hex}-`,
  };
  return {
    runTrue: async () => {
      const id = `bench-${hex}-${n++}`;
      spec.linux.cgroupsPath = `${cgroupParent}/${id}`;
      writeFileSync(specPath, JSON.stringify(spec));
      const r = await runProgram('runc', ['--root', stateRoot, 'run', '--bundle', bundle, id], {
        timeoutMs: 30_000,
      });
      if (r.code !== 0) throw new Error(`runc run exited ${r.code}: ${r.stderr.trim()}`);
    },
    version: async () => (await runProgram('runc', ['--version'])).stdout.split('\n')[0]?.trim() ?? 'runc',
    stop: async () => {
      const problems = await cleanUpHost(footprint);
      rmSync(tempDir, { recursive: true, force: true });
      rmSync(stateRoot, { recursive: true, force: true });
      throwProblems('runc', problems);
    },
  };
}

/**
 * State the engines write outside the directories we give them: dockerd's
 * /etc/docker/key.json and /run/docker/plugins, libcni's cache in /var/lib/cni,
 * containers/image's blob-info cache in /var/lib/containers. Whatever of these a run
 * created, it removes; what was there before stays.
 */
const HOST_PATHS = ['/etc/docker/key.json', '/run/docker', '/var/lib/cni', '/var/lib/containers'];

export function rememberHostPaths(): () => void {
  const before = new Set(HOST_PATHS.filter((p) => existsSync(p)));
  return () => {
    for (const p of HOST_PATHS) if (!before.has(p)) rmSync(p, { recursive: true, force: true });
  };
}
