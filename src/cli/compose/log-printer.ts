/**
 * Compose's log lines: `web-1  | text`, the prefix padded to the longest one and
 * coloured per container when the output is a terminal.
 */
import type { ContainerSummary } from '../../api/index.js';
import { FrameDecoder } from '../../api/index.js';
import type { Client, LogsOptions } from '../../client/index.js';
import type { CliContext } from '../context.js';
import { containerNumber, serviceOf } from './backend.js';

const COLOURS = [36, 33, 32, 35, 34, 91, 96, 93, 92, 95, 94];

export interface PrinterOptions {
  colour: boolean;
  prefix: boolean;
  timestamps?: boolean;
}

export function logPrefixName(c: ContainerSummary): string {
  return `${serviceOf(c)}-${containerNumber(c)}`;
}

export class LogPrinter {
  private width = 0;
  private colourOf = new Map<string, number>();

  constructor(
    private readonly ctx: CliContext,
    private readonly opts: PrinterOptions,
  ) {}

  /** Registers names up front so every prefix has the same width from the first line. */
  register(names: string[]): void {
    for (const name of names) {
      this.width = Math.max(this.width, name.length);
      if (!this.colourOf.has(name))
        this.colourOf.set(name, COLOURS[this.colourOf.size % COLOURS.length] as number);
    }
  }

  line(name: string, text: string, toStderr = false): void {
    const write = (s: string) => (toStderr ? this.ctx.err(s) : this.ctx.out(s));
    if (!this.opts.prefix) {
      write(`${text}\n`);
      return;
    }
    this.register([name]);
    const prefix = `${name.padEnd(this.width)}  | `;
    write(
      this.opts.colour ? `\x1b[${this.colourOf.get(name)}m${prefix}\x1b[0m${text}\n` : `${prefix}${text}\n`,
    );
  }

  /** A line about the container rather than from it (`web-1 exited with code 0`): no bar. */
  status(name: string, text: string): void {
    const line = `${name} ${text}`;
    this.ctx.out(this.opts.colour ? `\x1b[${this.colourOf.get(name)}m${line}\x1b[0m\n` : `${line}\n`);
  }

  /** Prints one container's log stream line by line until it ends. */
  async follow(
    client: Client,
    c: ContainerSummary,
    opts: LogsOptions & { signal?: AbortSignal },
  ): Promise<void> {
    const name = logPrefixName(c);
    const tty = (await client.containers.inspect(c.Id)).Config.Tty === true;
    const { stream, isMultiplexed } = await client.containers.logs(c.Id, { ...opts, tty });
    const decoder = new FrameDecoder();
    const pending = { out: '', err: '' };
    const feed = (which: 'out' | 'err', text: string) => {
      pending[which] += text;
      const lines = pending[which].split('\n');
      pending[which] = lines.pop() ?? '';
      for (const l of lines) this.line(name, l.replace(/\r$/, ''));
    };
    try {
      for await (const chunk of stream) {
        const bytes = chunk as Buffer;
        if (!isMultiplexed) feed('out', bytes.toString('utf8'));
        else
          for (const frame of decoder.push(bytes))
            feed(frame.kind === 2 ? 'err' : 'out', frame.payload.toString('utf8'));
      }
    } catch (e) {
      if (!opts.signal?.aborted) throw e;
    }
    for (const which of ['out', 'err'] as const) if (pending[which] !== '') this.line(name, pending[which]);
  }
}
