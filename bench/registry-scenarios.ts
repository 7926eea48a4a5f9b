/**
 * Push and pull through a private Debian `docker-registry` on 127.0.0.1 (issues 7 and 9).
 * Each sample pushes an image of its own (busybox plus a layer of random bytes, under a
 * repository of its own), so every push uploads a layer the registry has never seen;
 * then the image is removed and pulled back.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfsEntries, dockerSaveTar, makeTar } from '../test/harness/index.js';
import { startDistribution } from '../test/integration/registry/distribution.js';
import { type Engine, mustRun } from './engines.js';
import { type Measured, record, rounds, timed } from './sampling.js';

export interface RegistryConfig {
  warmup: number;
  buildIterations: number;
  /** Size of the random layer each pushed image adds to busybox. */
  pushLayerMiB: number;
  workDir: string;
}

/** Docker trusts 127.0.0.0/8 over plain HTTP by itself; Podman has to be told. */
function insecureFlags(e: Engine): string[] {
  return e.name === 'podman' ? ['--tls-verify=false'] : [];
}

export async function registryScenarios(
  engines: readonly Engine[],
  cfg: RegistryConfig,
  m: Measured,
  progress: (line: string) => void,
): Promise<void> {
  progress(`push and pull of busybox + ${cfg.pushLayerMiB} MiB through a local docker-registry`);
  const registry = await startDistribution();
  try {
    const base = await makeTar(busyboxRootfsEntries());
    let n = 0;
    await rounds(Math.min(cfg.warmup, 1), cfg.buildIterations, engines, async (e, keep) => {
      const name = `${registry.host}/bench/${e.name}-${n++}:1`;
      const payload = await makeTar([
        { name: 'payload.bin', content: randomBytes(cfg.pushLayerMiB * 1024 * 1024) },
      ]);
      const tarPath = join(cfg.workDir, 'push.tar');
      writeFileSync(tarPath, (await dockerSaveTar(name, [base, payload])).tar);
      await mustRun(e, ['load', '-i', tarPath]);
      rmSync(tarPath, { force: true });
      const push = await timed(() => mustRun(e, ['push', ...insecureFlags(e), name]));
      await mustRun(e, ['rmi', name]);
      const pull = await timed(() => mustRun(e, ['pull', ...insecureFlags(e), name]));
      await mustRun(e, ['rmi', name]);
      if (keep) {
        record(m, 'push', e.name, push.ms);
        record(m, 'pull', e.name, pull.ms);
      }
    });
  } catch (e) {
    throw new Error(
      `${e instanceof Error ? e.message : String(e)}\n--- docker-registry log:\n${registry.logTail()}`,
      {
        cause: e,
      },
    );
  } finally {
    await registry.stop();
  }
}
