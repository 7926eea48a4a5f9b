/**
 * Docker's multiplexed stream framing, used for attach, logs and exec without a TTY:
 * each frame is an 8-byte header (stream kind, three zero bytes, big-endian length)
 * followed by that many bytes of payload.
 */
export enum StreamKind {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /** Docker 1.42+ sends system errors on stream 3 during attach. */
  System = 3,
}

export function encodeFrame(kind: StreamKind, payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt8(kind, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export interface Frame {
  kind: StreamKind;
  payload: Buffer;
}

/** Splits a byte stream into frames; feed it chunks as they come, in order. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      frames.push({
        kind: this.pending.readUInt8(0) as StreamKind,
        payload: this.pending.subarray(8, 8 + size),
      });
      this.pending = this.pending.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still held. */
  get bufferedBytes(): number {
    return this.pending.length;
  }
}

/** Media types Docker 1.42+ uses to say whether a hijacked stream is framed. */
export const RAW_STREAM_MEDIA_TYPE = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM_MEDIA_TYPE = 'application/vnd.docker.multiplexed-stream';
