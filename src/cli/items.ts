import type { CliContext } from './context.js';
import { describeError, StatusError } from './errors.js';

/**
 * Docker's per-item commands (stop, rm, rmi ...): every argument is tried, each
 * success prints its line, failures are reported together, and any failure exits 1.
 */
export async function forEachItem(
  ctx: CliContext,
  items: string[],
  action: (item: string) => Promise<string | undefined>,
): Promise<void> {
  const failures: string[] = [];
  for (const item of items) {
    try {
      const line = await action(item);
      if (line !== undefined) ctx.out(`${line}\n`);
    } catch (e) {
      failures.push(describeError(e));
    }
  }
  if (failures.length > 0) throw new StatusError(1, failures.join('\n'));
}
