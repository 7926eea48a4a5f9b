/**
 * How every scenario samples: engines in turn (A B C, A B C, …), warm-up rounds
 * dropped, each kept figure recorded under its scenario and engine.
 */
import type { Engine } from './engines.js';

/** Samples keyed by scenario id, then by engine name ('runc' for the floor). */
export type Samples = Record<string, Record<string, number[]>>;
/** Why an engine has no figure for a scenario. */
export type Gaps = Record<string, Record<string, string>>;

export interface Measured {
  samples: Samples;
  gaps: Gaps;
}

export function record(m: Measured, scenario: string, engine: string, value: number): void {
  m.samples[scenario] ??= {};
  m.samples[scenario][engine] ??= [];
  m.samples[scenario][engine].push(value);
}

export function gap(m: Measured, scenario: string, engine: string, why: string): void {
  m.gaps[scenario] ??= {};
  m.gaps[scenario][engine] = why;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Runs `rounds` rounds over the engines; `sample` reports through `keep` only after the warm-up. */
export async function rounds(
  warmup: number,
  iterations: number,
  engines: readonly Engine[],
  sample: (e: Engine, keep: boolean) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < warmup + iterations; i++) {
    for (const e of engines) await sample(e, i >= warmup);
  }
}
