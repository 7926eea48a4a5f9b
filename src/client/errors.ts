import {
  BerthError,
  ConflictError,
  ForbiddenError,
  InvalidArgumentError,
  NotFoundError,
  NotModifiedError,
  UnavailableError,
} from '../api/index.js';

/** The daemon could not be reached at all (socket missing, refused, not permitted). */
export class DaemonConnectionError extends BerthError {
  override name = 'DaemonConnectionError';
}

/** Turns an error response back into the kind the daemon threw, keeping its message. */
export function errorFromStatus(status: number, message: string): BerthError {
  switch (status) {
    case 304:
      return new NotModifiedError(message);
    case 400:
      return new InvalidArgumentError(message);
    case 403:
      return new ForbiddenError(message);
    case 404:
      return new NotFoundError(message);
    case 409:
      return new ConflictError(message);
    case 503:
      return new UnavailableError(message);
    default:
      return new BerthError(message);
  }
}

/** The text of an error body: Docker sends `{"message": ...}`; older or foreign servers send plain text. */
export function messageOfBody(body: string, fallback: string): string {
  const text = body.trim();
  if (text === '') return fallback;
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'message' in parsed &&
      typeof parsed.message === 'string'
    ) {
      return parsed.message;
    }
  } catch {
    // Not JSON: the body itself is the message.
  }
  return text;
}

/** Node's socket errors when nothing useful listens at the address. */
export function connectionErrorOf(e: unknown, host: string): DaemonConnectionError | undefined {
  const code = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') {
    return new DaemonConnectionError(
      `Cannot connect to the berth daemon at ${host}. Is the berth daemon running?`,
      {
        cause: e,
      },
    );
  }
  if (code === 'EACCES') {
    const detail = e instanceof Error ? e.message : String(e);
    return new DaemonConnectionError(
      `permission denied while trying to connect to the berth daemon socket at ${host}: ${detail}`,
      { cause: e },
    );
  }
  return undefined;
}
