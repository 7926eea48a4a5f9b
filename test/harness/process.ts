import { AssertionError } from 'node:assert';
import { spawn } from 'node:child_process';

/** What a finished program left behind; a non-zero exit is data, not an error. */
export interface RunResult {
  code: number;
  /** Set when the program was ended by a signal. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for binary output such as `docker save`. */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The program is killed and the promise rejects after this long. */
  timeoutMs?: number;
}

/** Thrown only when a program could not be started or ran past its deadline. */
export class RunError extends Error {
  override name = 'RunError';
}

export const DEFAULT_RUN_TIMEOUT_MS = 60_000;

/** Runs a program with an argument array (never a shell) and collects its output. */
export function runProgram(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const shown = [file, ...args].map(quoteArg).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let isTimedOut = false;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => {
      isTimedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new RunError(`cannot run ${shown}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      const result: RunResult = {
        code: code ?? 128,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes,
      };
      if (isTimedOut) {
        reject(
          new RunError(
            `${shown} did not finish within ${timeoutMs} ms (killed)\n` +
              `stdout: ${result.stdout.slice(-2000)}\nstderr: ${result.stderr.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve(result);
    });
    // The program may exit without reading its input; EPIPE then is expected.
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

/** A one-line description of a run, for assertion messages. */
export function describeRun(what: string, r: RunResult): string {
  return `${what} exited ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

/** Thrown by a waitFor probe to stop polling at once: waiting longer cannot help. */
export class StopWaiting extends Error {
  override name = 'StopWaiting';
}

/** Polls `probe` until it returns a value other than undefined/false, or fails at the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof StopWaiting) throw e;
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Asserts a program's exit code, with its output in the failure message, and
 * returns the result for further checks.
 */
export function assertExit(r: RunResult, code: number, what: string): RunResult {
  if (r.code !== code) {
    throw new AssertionError({
      message: `expected exit ${code} from ${what}; ${describeRun(what, r)}`,
      actual: r.code,
      expected: code,
      operator: 'strictEqual',
    });
  }
  return r;
}

/** assertExit(r, 0, what). */
export function assertOk(r: RunResult, what: string): RunResult {
  return assertExit(r, 0, what);
}
