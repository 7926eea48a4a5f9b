import { BerthError } from '../api/index.js';
import { DaemonConnectionError, HostFormatError } from '../client/index.js';
import { TemplateError } from './template.js';

/** Ends a command with an exit status; a non-empty message goes to stderr first. */
export class StatusError extends Error {
  override name = 'StatusError';
  constructor(
    readonly status: number,
    message = '',
  ) {
    super(message);
  }
}

/** A mistake in how the command was called, found before asking the daemon. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The line docker prints for an error: the daemon's words are prefixed as such. */
export function describeError(e: unknown): string {
  if (e instanceof DaemonConnectionError || e instanceof HostFormatError) return e.message;
  if (e instanceof BerthError) return `Error response from daemon: ${e.message}`;
  if (e instanceof TemplateError) return `template parsing error: template: :1: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/**
 * Docker's exit statuses: `run` and `create` exit 125 when the CLI or daemon fails
 * (the container's own status is theirs to report otherwise); every other command exits 1.
 */
export function exitCodeOf(e: unknown, command: string): number {
  if (e instanceof StatusError) return e.status;
  return command === 'run' || command === 'create' ? 125 : 1;
}
