import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { InvalidArgumentError, messageOf } from '../../api/index.js';

const GZIP_MAGIC = [0x1f, 0x8b] as const;

export function isGzip(head: Uint8Array): boolean {
  return head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

/**
 * Passes a stream through, gunzipping it when it starts with gzip's magic bytes:
 * docker load and import take both, without saying which.
 */
export class MaybeGunzip extends Transform {
  private head: Buffer = Buffer.alloc(0);
  private decided = false;
  private gunzip: Gunzip | undefined;
  private gunzipEnded: Promise<void> | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.decided) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < GZIP_MAGIC.length) {
        callback();
        return;
      }
      this.decide();
      chunk = this.head;
    }
    this.forward(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.decided) {
      // Fewer bytes than gzip's magic: not gzip, pass them on as they are.
      this.decide();
      if (this.head.length > 0) this.push(this.head);
    }
    if (!this.gunzip || !this.gunzipEnded) {
      callback();
      return;
    }
    this.gunzip.end();
    void this.gunzipEnded.then(() => callback());
  }

  /** Whether the input turned out to be gzip; known once the first bytes have passed. */
  get isGzip(): boolean {
    return this.gunzip !== undefined;
  }

  private decide(): void {
    this.decided = true;
    if (!isGzip(this.head)) return;
    const gunzip = createGunzip();
    gunzip.on('data', (b: Buffer) => this.push(b));
    this.gunzipEnded = new Promise((resolve) => gunzip.on('end', resolve));
    // A write may be waiting for 'drain' that never comes once zlib fails, so fail the whole stream.
    gunzip.on('error', (e) => this.destroy(e));
    this.gunzip = gunzip;
  }

  private forward(chunk: Buffer, callback: TransformCallback): void {
    if (!this.gunzip) {
      callback(null, chunk);
      return;
    }
    if (this.gunzip.write(chunk)) callback();
    else this.gunzip.once('drain', () => callback());
  }
}

/** Hashes what passes through, so a stream's digest is known once it ends. */
export class DigestPassThrough extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  /**
   * `shouldHash`, asked at the first chunk, lets a caller skip hashing bytes whose digest
   * another hasher already gives (an uncompressed layer is its own diff); digest() is then
   * not to be called.
   */
  constructor(private shouldHash: boolean | (() => boolean) = true) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (typeof this.shouldHash === 'function') this.shouldHash = this.shouldHash();
    if (this.shouldHash) this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** `sha256:<hex>`; call once, after the stream ended. */
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

/**
 * Turns what tar-stream and zlib throw on a bad archive into Docker-like
 * InvalidArgumentErrors; other errors (disk full, EACCES) pass through unchanged.
 */
export function asArchiveError(e: unknown, what: string): unknown {
  if (e instanceof InvalidArgumentError) return e;
  const message = messageOf(e);
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? '';
  if (/invalid tar header/i.test(message))
    return new InvalidArgumentError(`${what}: invalid tar header`, { cause: e });
  if (/unexpected end of data|premature close/i.test(message) || code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return new InvalidArgumentError(`${what}: unexpected EOF`, { cause: e });
  }
  if (code.startsWith('Z_') || /incorrect header check|unexpected end of file/i.test(message)) {
    return new InvalidArgumentError(`${what}: invalid gzip data: ${message}`, { cause: e });
  }
  return e;
}

/** `sha256:<64 hex>` or throws InvalidArgumentError. */
export function checkDigest(digest: unknown, what: string): string {
  if (typeof digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(digest)) {
    throw new InvalidArgumentError(`${what}: unsupported or invalid digest ${JSON.stringify(digest)}`);
  }
  return digest;
}

export function hexOf(digest: string): string {
  return digest.slice('sha256:'.length);
}

export function sha256Of(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
