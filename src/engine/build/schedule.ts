import type { BuildOutput } from './types.js';

/** One unit of work and the units it waits for. */
export interface Task {
  id: number;
  dependsOn: readonly number[];
}

/**
 * Runs each task once every task it depends on has finished, at most `limit` at a
 * time; among ready tasks the earlier one in `tasks` starts first. On the first
 * failure `onFailure` is called (to stop the others), the running tasks are awaited,
 * and that first error is thrown. Dependencies outside `tasks` count as done.
 */
export async function runInDependencyOrder(
  tasks: readonly Task[],
  limit: number,
  run: (id: number) => Promise<void>,
  onFailure: () => void,
): Promise<void> {
  const known = new Set(tasks.map((t) => t.id));
  const done = new Set<number>();
  const started = new Set<number>();
  const running = new Map<number, Promise<void>>();
  let failure: { error: unknown } | undefined;
  while (done.size < tasks.length) {
    if (!failure) {
      for (const task of tasks) {
        if (running.size >= limit) break;
        if (started.has(task.id)) continue;
        if (!task.dependsOn.every((d) => done.has(d) || !known.has(d))) continue;
        started.add(task.id);
        const settled = run(task.id).then(
          () => {
            done.add(task.id);
          },
          (error: unknown) => {
            if (!failure) {
              failure = { error };
              onFailure();
            }
          },
        );
        running.set(
          task.id,
          settled.finally(() => running.delete(task.id)),
        );
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure) throw failure.error;
  if (done.size < tasks.length) throw new Error('build stages depend on each other in a cycle');
}

/**
 * Keeps concurrent stages' output in stage order, as a sequential build prints it:
 * the earliest unfinished stage writes through, later ones are held until every
 * stage before them has finished, then flushed whole.
 */
export class OrderedOutput {
  private head = 0;
  private readonly held: string[][];
  private readonly closed: boolean[];

  constructor(
    private readonly sink: BuildOutput,
    count: number,
  ) {
    this.held = Array.from({ length: count }, () => []);
    this.closed = Array.from({ length: count }, () => false);
  }

  /** The output of the stage at `position` (its place in build order). */
  channel(position: number): BuildOutput {
    return {
      stream: (text) => {
        if (position === this.head) this.sink.stream(text);
        else this.held[position]?.push(text);
      },
      aux: (value) => this.sink.aux(value),
    };
  }

  /** The stage at `position` wrote its last line. */
  close(position: number): void {
    this.closed[position] = true;
    while (this.head < this.closed.length && this.closed[this.head]) {
      this.head++;
      const held = this.held[this.head];
      if (held) {
        for (const text of held) this.sink.stream(text);
        held.length = 0;
      }
    }
  }
}
