// A program run under a pseudo-terminal, as a user at a terminal runs it: Node has
// no pty, so python3's pty module holds one and copies our pipe to it and back.
import { type ChildProcess, spawn } from 'node:child_process';

const PTY_WRAPPER = [
  'import fcntl, os, pty, select, struct, sys, termios',
  'pid, fd = pty.fork()',
  'if pid == 0:',
  // A terminal has a size; docker sends it to the daemon once the container starts.
  "    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))",
  '    os.execvp(sys.argv[1], sys.argv[1:])',
  'fds = [fd, 0]',
  'while True:',
  '    ready, _, _ = select.select(fds, [], [])',
  '    if fd in ready:',
  '        try:',
  '            data = os.read(fd, 4096)',
  '        except OSError:',
  "            data = b''",
  '        if not data:',
  '            break',
  '        os.write(1, data)',
  '    if 0 in ready:',
  '        data = os.read(0, 4096)',
  '        if data:',
  '            os.write(fd, data)',
  '        else:',
  '            fds.remove(0)',
  '_, status = os.waitpid(pid, 0)',
  'sys.exit(os.waitstatus_to_exitcode(status))',
].join('\n');

export interface PtySession {
  /** Everything the program printed so far (with the terminal's echo). */
  readonly output: string;
  type(text: string): void;
  /** Resolves once the output matches, with the output; rejects at the deadline. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The program's exit code. */
  readonly exited: Promise<number>;
  kill(): void;
}

export function spawnInPty(argv: string[], env: NodeJS.ProcessEnv): PtySession {
  const child: ChildProcess = spawn('python3', ['-c', PTY_WRAPPER, ...argv], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const watchers = new Set<() => void>();
  const onOutput = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const watcher of watchers) watcher();
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  child.stdin?.on('error', () => undefined); // the program may be gone before we type
  const exited = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  return {
    get output() {
      return output;
    },
    type(text) {
      child.stdin?.write(text);
    },
    waitForOutput(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return;
          done();
          resolve(output);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} within ${timeoutMs} ms; output so far: ${JSON.stringify(output)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    exited,
    kill() {
      child.kill('SIGKILL');
    },
  };
}
