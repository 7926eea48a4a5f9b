import { spawn } from 'node:child_process';
import { BerthError } from '../api/index.js';

/** A host program failed: the program, its arguments, exit code and what it printed on stderr. */
export class CommandError extends BerthError {
  override name = 'CommandError';
  constructor(
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(`${program} ${args.join(' ')}: ${stderr.trim() || `exit status ${exitCode}`}`, options);
  }
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell) and collects its output. */
export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const { input, timeoutMs = 60_000, env, cwd } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: env ?? process.env,
      cwd,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new CommandError(program, args, null, e.message, { cause: e })));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ stdout, stderr });
      else reject(new CommandError(program, args, code, signal ? `${stderr}killed by ${signal}` : stderr));
    });
    if (input !== undefined && child.stdin) child.stdin.end(input);
  });
}
