/**
 * Host programs the integration tests need. A missing one fails the suite at once
 * with what to install, instead of a confusing failure deep inside a test.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX_PATH = '/bin/busybox';

/** The repository root (this file is dist/test/harness/prerequisites.js once built). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BERTHD_BIN = join(REPO_ROOT, 'bin', 'berthd');
export const BERTH_BIN = join(REPO_ROOT, 'bin', 'berth');

interface Prerequisite {
  what: string;
  found: () => boolean;
  fix: string;
}

export function findOnPath(program: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/local/sbin', '/usr/sbin', '/sbin']);
  for (const d of dirs) {
    const p = join(d, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // Not in this directory.
    }
  }
  return undefined;
}

const onPath = (program: string) => () => findOnPath(program) !== undefined;

const PREREQUISITES: Prerequisite[] = [
  {
    what: 'the docker CLI (docker)',
    found: onPath('docker'),
    fix: "install the Docker CLI, client only: apt-get install docker-ce-cli (Docker's apt repository) or docker.io",
  },
  { what: 'runc', found: onPath('runc'), fix: 'apt-get install runc' },
  { what: 'conmon', found: onPath('conmon'), fix: 'apt-get install conmon' },
  { what: 'ip (iproute2)', found: onPath('ip'), fix: 'apt-get install iproute2' },
  { what: 'nft (nftables)', found: onPath('nft'), fix: 'apt-get install nftables' },
  { what: BUSYBOX_PATH, found: () => existsSync(BUSYBOX_PATH), fix: 'apt-get install busybox-static' },
  {
    what: 'the built daemon (dist/src/berthd.js)',
    found: () => existsSync(join(REPO_ROOT, 'dist', 'src', 'berthd.js')),
    fix: 'build it: run `npm run build` (or `npm test`, which sets everything up)',
  },
  {
    what: 'the built CLI (dist/src/berth.js)',
    found: () => existsSync(join(REPO_ROOT, 'dist', 'src', 'berth.js')),
    fix: 'build it: run `npm run build` (or `npm test`, which sets everything up)',
  },
];

/** Throws one error naming every missing prerequisite and how to install it. */
export function requirePrerequisites(): void {
  const missing = PREREQUISITES.filter((p) => !p.found());
  if (process.getuid?.() !== 0) {
    missing.push({ what: 'root', found: () => false, fix: 'run the integration tests as root' });
  }
  if (missing.length === 0) return;
  throw new Error(
    `integration tests cannot run; missing:\n${missing.map((m) => `  - ${m.what}: ${m.fix}`).join('\n')}`,
  );
}

export function requireBusybox(): void {
  if (!existsSync(BUSYBOX_PATH)) {
    throw new Error(`${BUSYBOX_PATH} is missing: install it with apt-get install busybox-static`);
  }
}
