/**
 * Docker's detach keys: a comma-separated list of single characters and `ctrl-X`
 * names (`ctrl-a` .. `ctrl-z`, `ctrl-@`, `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`,
 * `ctrl-_`); `ctrl-p,ctrl-q` unless the user picks another.
 */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_NAMES = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/** The bytes a detach key string stands for; InvalidDetachKeysError names the key that is not one. */
export function parseDetachKeys(keys: string): Buffer {
  const codes: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1) {
      codes.push(key.charCodeAt(0));
      continue;
    }
    const index = key.startsWith('ctrl-') && key.length === 6 ? CTRL_NAMES.indexOf(key[5] ?? '') : -1;
    if (index < 0) throw new InvalidDetachKeysError(`Unknown character: '${key}'`);
    codes.push(index);
  }
  return Buffer.from(codes);
}

export class InvalidDetachKeysError extends Error {
  override name = 'InvalidDetachKeysError';
}

/**
 * Watches a stdin byte stream for the detach sequence, as Docker's escape proxy does:
 * bytes that could start the sequence are held back until they match or stop matching.
 */
export class DetachKeyScanner {
  private held = 0;

  constructor(private readonly keys: Buffer) {}

  /** The bytes to pass on, and whether the sequence completed (later bytes are dropped). */
  push(chunk: Buffer): { data: Buffer; isDetached: boolean } {
    if (this.keys.length === 0) return { data: chunk, isDetached: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held += 1;
        if (this.held === this.keys.length) return { data: Buffer.from(out), isDetached: true };
        continue;
      }
      // A broken prefix was typed for real: pass it on, then look at this byte afresh.
      for (let i = 0; i < this.held; i++) out.push(this.keys[i] ?? 0);
      this.held = 0;
      if (byte === this.keys[0]) {
        this.held = 1;
        if (this.keys.length === 1) return { data: Buffer.from(out), isDetached: true };
      } else {
        out.push(byte);
      }
    }
    return { data: Buffer.from(out), isDetached: false };
  }
}
