/**
 * Takes a test daemon's footprint off the host: its monitors and container
 * processes, cgroups, network namespaces, links, nftables table and mounts. Each
 * step tolerates what is already gone and reports only what it could not remove,
 * so it is safe after a clean shutdown, a crash, or a daemon that never started.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram, waitFor } from './process.js';

export interface HostFootprint {
  /** Directories the daemon owns (data root, exec root, temp dir): mounts and processes naming them are ours. */
  roots: string[];
  bridge: string;
  nftTable: string;
  /** The --cgroup-parent, e.g. /bt-1a2b3c. */
  cgroupParent: string;
  netnsPrefix: string;
}

/** Removes everything; returns the problems found (empty when all went well). */
export async function cleanUpHost(f: HostFootprint): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  // Monitors first, so none of them records or restarts anything while we clean.
  await step('killing conmon/runc processes', () => killStrayProcesses(f.roots));
  await step('removing cgroups', () => removeCgroups(f.cgroupParent));
  await step('removing network namespaces', () => removeNetns(f.netnsPrefix));
  await step('removing links', () => removeLinks(f.bridge));
  await step('removing user-defined network bridges', () => removeUserBridges(`${f.bridge}-`));
  await step('removing the nftables table', () => removeNftTable(f.nftTable));
  await step('unmounting', () => unmountUnder(f.roots));
  return problems;
}

const isUnder = (p: string, roots: readonly string[]) => roots.some((r) => p === r || p.startsWith(`${r}/`));

/** conmon and runc processes whose command line names one of our roots. */
async function killStrayProcesses(roots: readonly string[]): Promise<void> {
  const victims: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // Exited meanwhile.
    }
    const prog = (argv[0] ?? '').split('/').pop() ?? '';
    if ((prog === 'conmon' || prog === 'runc') && argv.some((a) => roots.some((r) => a.includes(r)))) {
      victims.push(Number(name));
    }
  }
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  if (victims.length > 0) {
    await waitFor(
      `stray conmon/runc processes ${victims.join(' ')} to exit`,
      () => victims.every((p) => !isAlive(p)),
      { timeoutMs: 5000 },
    );
  }
}

/** A zombie still has a /proc entry; it counts as gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every cgroup directory named by the parent, in every hierarchy (v1 controllers and v2). */
export function cgroupDirs(cgroupParent: string): string[] {
  const rel = cgroupParent.replace(/^\/+/, '');
  if (rel === '') throw new Error('refusing to clean the root cgroup');
  const bases: string[] = [];
  if (existsSync('/sys/fs/cgroup/cgroup.procs')) bases.push('/sys/fs/cgroup');
  let entries: string[] = [];
  try {
    entries = readdirSync('/sys/fs/cgroup');
  } catch {
    return [];
  }
  for (const e of entries) {
    const base = join('/sys/fs/cgroup', e);
    try {
      // Co-mounted controllers (cpu,cpuacct) also appear as symlinks to one hierarchy.
      readlinkSync(base);
      continue;
    } catch {
      // Not a symlink: a hierarchy of its own.
    }
    if (existsSync(join(base, 'cgroup.procs'))) bases.push(base);
  }
  const found: string[] = [];
  const walk = (dir: string) => {
    found.push(dir);
    let subs: string[];
    try {
      subs = readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      return;
    }
    for (const s of subs) walk(join(dir, s));
  };
  for (const base of bases) {
    const top = join(base, rel);
    if (existsSync(top)) walk(top);
  }
  return found;
}

async function removeCgroups(cgroupParent: string): Promise<void> {
  const dirs = cgroupDirs(cgroupParent);
  if (dirs.length === 0) return;
  // A frozen (paused) process cannot die; thaw before killing.
  for (const d of dirs) {
    tryWrite(join(d, 'freezer.state'), 'THAWED');
    tryWrite(join(d, 'cgroup.freeze'), '0');
  }
  const procsIn = () =>
    dirs.flatMap((d) => {
      try {
        return readFileSync(join(d, 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter((s) => s !== '')
          .map(Number);
      } catch {
        return [];
      }
    });
  for (const pid of procsIn()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await waitFor('container processes to leave their cgroups', () => procsIn().length === 0, {
    timeoutMs: 5000,
  });
  const failed: string[] = [];
  // Deepest first: a cgroup with children cannot be removed.
  for (const d of [...dirs].sort((x, y) => y.length - x.length)) {
    try {
      rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed.push(`${d}: ${(e as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(`cannot remove ${failed.join('; ')}`);
}

async function removeNetns(prefix: string): Promise<void> {
  if (prefix === '') throw new Error('refusing to clean network namespaces without a prefix');
  const list = await runProgram('ip', ['netns', 'list'], { timeoutMs: 10_000 });
  if (list.code !== 0) throw new Error(`ip netns list exited ${list.code}: ${list.stderr.trim()}`);
  const ours = list.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
  const failed: string[] = [];
  for (const ns of ours) {
    const r = await runProgram('ip', ['netns', 'delete', ns], { timeoutMs: 10_000 });
    if (r.code !== 0 && !/No such file/i.test(r.stderr))
      failed.push(`ip netns delete ${ns}: ${r.stderr.trim()}`);
  }
  if (failed.length > 0) throw new Error(failed.join('; '));
}

/** Host ends of veths still on our bridge, then the bridge itself. */
async function removeLinks(bridge: string): Promise<void> {
  const show = await runProgram('ip', ['-json', 'link', 'show', 'master', bridge], { timeoutMs: 10_000 });
  if (show.code !== 0) {
    if (/does not exist|Cannot find device/i.test(show.stderr)) return;
    throw new Error(`ip link show master ${bridge} exited ${show.code}: ${show.stderr.trim()}`);
  }
  const ports = (JSON.parse(show.stdout || '[]') as { ifname?: string }[])
    .map((l) => l.ifname ?? '')
    .filter((n) => n !== '');
  const failed: string[] = [];
  for (const name of [...ports, bridge]) {
    const r = await runProgram('ip', ['link', 'delete', name], { timeoutMs: 10_000 });
    if (r.code !== 0 && !/Cannot find device|does not exist/i.test(r.stderr)) {
      failed.push(`ip link delete ${name}: ${r.stderr.trim()}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join('; '));
}

/**
 * Bridges of user-defined networks: berthd names them `<--bridge-prefix><id>`, and tests
 * pass `--bridge-prefix <bridge>-`, so every link with that prefix is this daemon's.
 */
async function removeUserBridges(prefix: string): Promise<void> {
  const show = await runProgram('ip', ['-json', 'link', 'show', 'type', 'bridge'], { timeoutMs: 10_000 });
  if (show.code !== 0) throw new Error(`ip link show type bridge exited ${show.code}: ${show.stderr.trim()}`);
  const bridges = (JSON.parse(show.stdout || '[]') as { ifname?: string }[])
    .map((l) => l.ifname ?? '')
    .filter((n) => n.startsWith(prefix));
  for (const bridge of bridges) await removeLinks(bridge);
}

/** Our table in whichever families it was made (inet, ip, ip6). */
async function removeNftTable(table: string): Promise<void> {
  const list = await runProgram('nft', ['-j', 'list', 'tables'], { timeoutMs: 10_000 });
  if (list.code !== 0) throw new Error(`nft -j list tables exited ${list.code}: ${list.stderr.trim()}`);
  const parsed = JSON.parse(list.stdout || '{"nftables":[]}') as {
    nftables: { table?: { family: string; name: string } }[];
  };
  const failed: string[] = [];
  for (const item of parsed.nftables) {
    if (item.table?.name !== table) continue;
    const r = await runProgram('nft', ['delete', 'table', item.table.family, table], { timeoutMs: 10_000 });
    if (r.code !== 0 && !/No such file/i.test(r.stderr)) {
      failed.push(`nft delete table ${item.table.family} ${table}: ${r.stderr.trim()}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join('; '));
}

/** Mounts under our roots, and overlays elsewhere whose layers live in them; deepest first. */
async function unmountUnder(roots: readonly string[]): Promise<void> {
  const ours = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((fields) => fields.length >= 4)
    .map((fields) => ({ target: unescapeMount(fields[1] ?? ''), options: unescapeMount(fields[3] ?? '') }))
    .filter((m) => isUnder(m.target, roots) || roots.some((r) => m.options.includes(`${r}/`)))
    .sort((a, b) => b.target.length - a.target.length);
  const failed: string[] = [];
  for (const m of ours) {
    const r = await runProgram('umount', ['-l', m.target], { timeoutMs: 10_000 });
    if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stderr)) {
      failed.push(`umount -l ${m.target}: ${r.stderr.trim()}`);
    }
  }
  if (failed.length > 0) throw new Error(failed.join('; '));
}

function tryWrite(path: string, value: string): void {
  if (!existsSync(path)) return;
  try {
    writeFileSync(path, value);
  } catch {
    // Best effort: a cgroup that vanished needs no thawing.
  }
}

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}
