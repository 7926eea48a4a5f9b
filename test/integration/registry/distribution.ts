/**
 * A real registry for the registry tests: Debian's `docker-registry` (the reference
 * distribution server) on 127.0.0.1 with a free port, its storage in a temp dir, and
 * htpasswd (bcrypt) auth when asked, and TLS (mutual when given client CAs) when asked.
 * stop() kills it and removes every file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runProgram, waitFor } from '../../harness/index.js';
import { StopWaiting } from '../../harness/process.js';

export interface Distribution {
  /** `127.0.0.1:PORT` */
  host: string;
  stop(): Promise<void>;
  logTail(): string;
}

const REGISTRY_BIN = '/usr/bin/docker-registry';

/** PEM files for `http.tls`: the server's certificate and key, and CAs that must sign client certificates. */
export interface DistributionTls {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
}

export async function startDistribution(
  opts: { user?: string; password?: string; tls?: DistributionTls } = {},
): Promise<Distribution> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
  ];
  if (opts.tls) {
    lines.push('  tls:', `    certificate: ${opts.tls.certFile}`, `    key: ${opts.tls.keyFile}`);
    if (opts.tls.clientCaFile) lines.push('    clientcas:', `      - ${opts.tls.clientCaFile}`);
  }
  if (opts.user !== undefined && opts.password !== undefined) {
    const r = await runProgram('htpasswd', ['-Bbn', opts.user, opts.password]);
    if (r.code !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    writeFileSync(join(dir, 'htpasswd'), `${r.stdout.trim()}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
  }
  writeFileSync(join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const logFile = join(dir, 'registry.log');
  const log = openSync(logFile, 'w');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = () => {
    try {
      return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'docker-registry to answer',
      async () => {
        if (child.exitCode !== null) throw new StopWaiting(`docker-registry exited: ${logTail()}`);
        // Over TLS (perhaps mutual) a probe would need the test's certificates: its log says when it listens.
        if (opts.tls) return /listening on .*, tls/.test(logTail());
        try {
          const res = await fetch(`http://${host}/v2/`);
          await res.body?.cancel();
          return res.status === 200 || res.status === 401;
        } catch {
          return false;
        }
      },
      { timeoutMs: 15_000 },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { host, stop, logTail };
}
