import type { Client } from '../client/index.js';

/** The process's streams and environment, passed in so tests can run the CLI in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Milliseconds since the epoch; fixed in tests so "5 seconds ago" is stable. */
  now?: () => number;
}

/** What every command needs: output, the environment and a client for the chosen daemon. */
export interface CliContext {
  io: CliIo;
  client(): Client;
  now(): number;
  out(text: string): void;
  err(text: string): void;
}
