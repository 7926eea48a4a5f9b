import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../../api/index.js';
import type { OverlaySnapshotter, PendingLayer } from '../snapshot/index.js';
import { applyLayerTar } from './layer-apply.js';
import { asArchiveError, DigestPassThrough, isGzip, MaybeGunzip } from './tar-io.js';

export const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const LAYER_TAR_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const READ_CHUNK_BYTES = 1024 * 1024;

/** A layer file checked against the digests that name it. */
export interface VerifiedLayer {
  /** Digest of the file as stored (compressed or not): its blob digest. */
  digest: string;
  diffId: string;
  mediaType: string;
  size: number;
  /** The snapshot unpacked for it, when there was none already. */
  pending?: PendingLayer;
}

export interface LayerIngestOptions {
  file: string;
  /** The blob digest an archive claims for the file, if any. */
  digest?: string;
  mediaType?: string;
  /** The diff_id the image config gives this layer. */
  diffId: string;
  chainId: string;
  parentChainId: string | null;
  snapshots: OverlaySnapshotter;
}

/**
 * Reads a layer file once: hashes it as stored and uncompressed, and unpacks it into a
 * new pending snapshot unless the chain already has one. Any mismatch with the claimed
 * digests throws InvalidArgumentError and leaves no snapshot behind.
 */
export async function ingestLayer(opts: LayerIngestOptions): Promise<VerifiedLayer> {
  const what = `layer ${opts.digest ?? opts.diffId}`;
  const stored = new DigestPassThrough();
  const gunzip = new MaybeGunzip();
  // An uncompressed layer's diff_id is its stored digest: one hash of its bytes is enough.
  const uncompressed = new DigestPassThrough(() => gunzip.isGzip);
  const readLayer = async (consume: (tar: DigestPassThrough) => Promise<void>): Promise<void> => {
    const source = pipeline(
      createReadStream(opts.file, { highWaterMark: READ_CHUNK_BYTES }),
      stored,
      gunzip,
      uncompressed,
    );
    const [read, consumed] = await Promise.allSettled([source, consume(uncompressed)]);
    // When the consumer gives up (a bad entry), the reading side only sees a premature close:
    // report the consumer. When reading fails (bad gzip), the consumer only sees a short tar.
    if (read.status === 'rejected' && !isPrematureClose(read.reason)) throw asArchiveError(read.reason, what);
    if (consumed.status === 'rejected') throw asArchiveError(consumed.reason, what);
    if (read.status === 'rejected') throw asArchiveError(read.reason, what);
    const digest = stored.digest();
    if (opts.digest !== undefined && digest !== opts.digest) {
      throw new InvalidArgumentError(`${what}: digest mismatch: content is ${digest}`);
    }
    const diffId = gunzip.isGzip ? uncompressed.digest() : digest;
    if (diffId !== opts.diffId) {
      throw new InvalidArgumentError(
        `${what}: diff_id mismatch: config says ${opts.diffId}, content is ${diffId}`,
      );
    }
    verifiedDigest = digest;
  };
  let verifiedDigest = '';
  let pending: PendingLayer | undefined;
  if (opts.snapshots.hasLayer(opts.chainId)) {
    await readLayer((tar) => pipeline(tar, new Writable({ write: (_chunk, _encoding, done) => done() })));
  } else {
    pending = await opts.snapshots.unpackLayer(opts.chainId, opts.parentChainId, (merged) =>
      readLayer((tar) => applyLayerTar(tar, merged, what)),
    );
  }
  const mediaType = opts.mediaType ?? ((await fileStartsWithGzip(opts.file)) ? LAYER_TAR_GZIP : LAYER_TAR);
  return {
    digest: verifiedDigest,
    diffId: opts.diffId,
    mediaType,
    size: stored.bytes,
    ...(pending ? { pending } : {}),
  };
}

async function fileStartsWithGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && isGzip(head);
  } finally {
    await handle.close();
  }
}

function isPrematureClose(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}
