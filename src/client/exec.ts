import { MULTIPLEXED_STREAM_MEDIA_TYPE, RAW_STREAM_MEDIA_TYPE } from '../api/index.js';
import type { AttachedContainer } from './client.js';
import type { Transport } from './transport.js';

/** `POST /containers/{id}/exec`, Docker's field names. */
export interface ExecCreateRequest {
  Cmd: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Privileged?: boolean;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
}

/** `GET /exec/{id}/json`. */
export interface ExecInspect {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  OpenStdin: boolean;
  OpenStdout: boolean;
  OpenStderr: boolean;
  ProcessConfig: { entrypoint: string; arguments: string[]; tty: boolean; privileged: boolean; user: string };
}

export interface ExecApi {
  create(container: string, body: ExecCreateRequest): Promise<{ Id: string }>;
  /** Starts the process in the background. */
  startDetached(id: string): Promise<void>;
  /** Starts the process with its stdio on a hijacked connection, which ends when it exits. */
  startAttached(id: string, opts: { tty: boolean }): Promise<AttachedContainer>;
  inspect(id: string): Promise<ExecInspect>;
  resize(id: string, size: { height: number; width: number }): Promise<void>;
}

const enc = encodeURIComponent;

export function execApi(t: Transport): ExecApi {
  return {
    create: (container, body) => t.json({ method: 'POST', path: `/containers/${enc(container)}/exec`, body }),
    startDetached: (id) =>
      t.empty({ method: 'POST', path: `/exec/${enc(id)}/start`, body: { Detach: true, Tty: false } }),
    startAttached: async (id, opts) => {
      const { socket, contentType } = await t.upgrade({
        method: 'POST',
        path: `/exec/${enc(id)}/start`,
        body: { Detach: false, Tty: opts.tty },
      });
      const isMultiplexed = contentType?.startsWith(MULTIPLEXED_STREAM_MEDIA_TYPE)
        ? true
        : contentType?.startsWith(RAW_STREAM_MEDIA_TYPE)
          ? false
          : !opts.tty;
      return { stream: socket, input: socket, isMultiplexed, close: () => socket.destroy() };
    },
    inspect: (id) => t.json({ method: 'GET', path: `/exec/${enc(id)}/json` }),
    resize: (id, size) =>
      t.empty({ method: 'POST', path: `/exec/${enc(id)}/resize`, query: { h: size.height, w: size.width } }),
  };
}
