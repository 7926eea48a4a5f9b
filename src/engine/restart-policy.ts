/** Docker's restart policies: whether an exited container comes back, and after how long. */
import type { RestartPolicy } from '../api/index.js';
import { InvalidArgumentError } from '../api/index.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
// A run at least this long counts as healthy: the back-off starts over.
const HEALTHY_RUN_MS = 10_000;

export interface ExitFacts {
  exitCode: number;
  restartCount: number;
  /** `docker stop`/`kill` ended it: no policy restarts it until the next start. */
  manuallyStopped: boolean;
}

export function validateRestartPolicy(policy: RestartPolicy | undefined, autoRemove: boolean): void {
  const name = policy?.Name ?? '';
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw new InvalidArgumentError(
      `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  const retries = policy?.MaximumRetryCount ?? 0;
  if (retries < 0)
    throw new InvalidArgumentError('invalid restart policy: maximum retry count cannot be negative');
  if (retries > 0 && name !== 'on-failure') {
    throw new InvalidArgumentError(
      `invalid restart policy: maximum retry count can only be used with 'on-failure'`,
    );
  }
  if (autoRemove && name !== '' && name !== 'no') {
    throw new InvalidArgumentError('Conflicting options: --restart and --rm');
  }
}

export function shouldRestart(policy: RestartPolicy | undefined, facts: ExitFacts): boolean {
  if (facts.manuallyStopped) return false;
  switch (policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = policy.MaximumRetryCount ?? 0;
      return facts.exitCode !== 0 && (max <= 0 || facts.restartCount < max);
    }
    default:
      return false;
  }
}

/** Whether the daemon starts the container when it itself starts (Docker: always, and unless-stopped unless stopped). */
export function restartsWithDaemon(policy: RestartPolicy | undefined, manuallyStopped: boolean): boolean {
  return policy?.Name === 'always' || (policy?.Name === 'unless-stopped' && !manuallyStopped);
}

/** Doubles from 100 ms to a minute; a run of ten seconds or more starts over. */
export function nextRestartDelayMs(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= HEALTHY_RUN_MS) return FIRST_DELAY_MS;
  return Math.min(previousMs * 2, MAX_DELAY_MS);
}
