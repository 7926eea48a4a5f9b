import type { Writable } from 'node:stream';

const FLUSH_BYTES = 64 * 1024;

/**
 * Gathers the small chunks a log or attach stream produces (a frame a line) into one
 * write per tick: a response written a line at a time spends its time in per-write
 * overhead and HTTP chunk headers, not in moving bytes. Nothing waits longer than the
 * current tick, so a follower still sees each line as soon as it is read.
 */
export class BatchedWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private isFlushScheduled = false;

  constructor(private readonly out: Writable) {}

  /** Queues a chunk; resolves at once unless the destination asks the writer to wait. */
  async write(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= FLUSH_BYTES) {
      this.flush();
    } else if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      // A tick runs after every promise continuation queued now, so one read's lines go together.
      process.nextTick(() => this.flush());
    }
    if (this.out.writableNeedDrain && !this.out.destroyed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
  }

  /** Writes out what is queued. */
  flush(): void {
    this.isFlushScheduled = false;
    if (this.pending.length === 0) return;
    if (this.out.destroyed || this.out.writableEnded) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.out.write(data);
  }
}
