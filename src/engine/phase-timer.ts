/**
 * Milliseconds per named phase of one operation (a start, an exit, a removal), logged at
 * debug level so a slow phase is visible to users, not only to the benchmarks (issue 7).
 * Phases that run side by side overlap: their times do not add up to the whole.
 */
export class PhaseTimer {
  readonly phases: Record<string, number> = {};

  async time<T>(name: string, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await step();
    } finally {
      this.phases[name] = Math.round((performance.now() - started) * 10) / 10;
    }
  }
}
