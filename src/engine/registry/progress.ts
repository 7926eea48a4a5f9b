import { humanSize } from '../../api/index.js';

/** One line of a pull or push stream, with Docker's field names (jsonmessage). */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  aux?: unknown;
}

/** Where a pull or push reports; the route writes each message as one JSON line. */
export type ProgressSink = (message: ProgressMessage) => void;

const BAR_WIDTH = 50;
/** Byte counts are reported at most this often per layer, as dockerd throttles them. */
const PROGRESS_INTERVAL_MS = 100;

/** The text bar docker shows when it cannot draw one itself: `[=====>     ]  1.2MB/3MB`. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current);
  const filled = Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH));
  const arrow = filled < BAR_WIDTH ? '>' : '';
  const bar = `[${'='.repeat(filled === BAR_WIDTH ? BAR_WIDTH - 1 : filled)}${filled === BAR_WIDTH ? '>' : arrow}${' '.repeat(Math.max(0, BAR_WIDTH - filled - 1))}]`;
  return `${bar}  ${humanSize(current)}/${humanSize(total)}`;
}

/** Reports bytes moved for one layer, at most every PROGRESS_INTERVAL_MS and once at the end. */
export function byteCounter(
  sink: ProgressSink,
  id: string,
  status: string,
  total: number,
): { add(bytes: number): void; finish(): void } {
  let current = 0;
  let last = 0;
  const report = () => {
    last = Date.now();
    sink({ status, progressDetail: { current, total }, progress: progressBar(current, total), id });
  };
  return {
    add(bytes) {
      current += bytes;
      if (Date.now() - last >= PROGRESS_INTERVAL_MS) report();
    },
    finish() {
      if (current !== 0) report();
    },
  };
}

/** Docker's short layer id in progress lines: 12 hex digits of a digest. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Runs `work` over `items` with at most `limit` at a time; the first failure stops new starts. */
export async function runBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index] as T, index);
      } catch (e) {
        failure ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
