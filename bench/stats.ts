/** Summaries of repeated measurements. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: readonly number[]): Summary | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples: [...samples] };
}

/** An engine's median over the baseline's; undefined when either is missing or the baseline is 0. */
export function ratioOf(value: Summary | undefined, baseline: Summary | undefined): number | undefined {
  if (value === undefined || baseline === undefined || baseline.median === 0) return undefined;
  return value.median / baseline.median;
}

/** A number with a sensible number of digits for a table. */
export function formatNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
