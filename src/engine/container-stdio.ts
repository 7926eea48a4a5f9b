import { ConflictError, NotFoundError } from '../api/index.js';
import type { ContainerRecord } from './container-store.js';
import type { ContainerService } from './containers.js';
import type { EventBus } from './events.js';
import type { ContainerRuntime, StdinPipe, TerminalSize } from './runtime/index.js';

export interface ContainerStdioDeps {
  containers: Pick<ContainerService, 'get'>;
  runtime: Pick<ContainerRuntime, 'openStdin' | 'resize'>;
  /** Container starts are learnt from the event bus (`start`). */
  events: Pick<EventBus, 'subscribe'>;
}

function isRunning(record: ContainerRecord): boolean {
  const { status } = record.state;
  return status === 'running' || status === 'paused' || status === 'restarting';
}

/** A container's stdin and TTY for attach: conmon's attach socket and its resize fifo. */
export class ContainerStdio {
  constructor(private readonly deps: ContainerStdioDeps) {}

  /**
   * The container's stdin for an attach with `stdin=1`, once it runs: clients attach
   * before they start it. undefined when it was created without `-i`, or when `signal`
   * aborts or the process is gone before the pipe opens.
   */
  async openStdin(ref: string, signal: AbortSignal): Promise<StdinPipe | undefined> {
    const record = this.deps.containers.get(ref);
    if (record.config.OpenStdin !== true) return undefined;
    if (!isRunning(record) && !(await this.nextStart(record.id, signal))) return undefined;
    try {
      return await this.deps.runtime.openStdin(record.id);
    } catch (e) {
      if (e instanceof NotFoundError) return undefined;
      throw e;
    }
  }

  /** Resizes the container's TTY; a container without one has nothing to resize. */
  async resize(ref: string, size: TerminalSize): Promise<void> {
    const record = this.deps.containers.get(ref);
    if (!isRunning(record)) throw new ConflictError(`container ${record.id} is not running`);
    if (record.config.Tty !== true) return;
    await this.deps.runtime.resize(record.id, size);
  }

  /** Resolves true at the container's next start, false if `signal` aborts first. */
  private nextStart(id: string, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve(false);
        return;
      }
      const settle = (isStarted: boolean) => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        resolve(isStarted);
      };
      const onAbort = () => settle(false);
      const unsubscribe = this.deps.events.subscribe((e) => {
        if (e.Type === 'container' && e.Action === 'start' && e.Actor.ID === id) settle(true);
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
