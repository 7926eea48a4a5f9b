import { run } from './exec.js';

const OVERLAY_OPAQUE = 'trusted.overlay.opaque';

/**
 * Directories under `root` that overlayfs marked opaque (`trusted.overlay.opaque=y`):
 * paths relative to `root`, `''` for root itself. Node has no xattr calls, so this
 * asks getfattr (Debian `attr`) once for the whole tree.
 */
export async function listOpaqueDirs(root: string): Promise<Set<string>> {
  const { stdout } = await run('getfattr', [
    '--recursive',
    '--physical',
    '--no-dereference',
    '--absolute-names',
    '--dump',
    '--match',
    `^${OVERLAY_OPAQUE.replaceAll('.', '\\.')}$`,
    root,
  ]);
  const opaque = new Set<string>();
  let file: string | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      file = unescapeName(line.slice('# file: '.length));
      continue;
    }
    if (file === undefined || !line.startsWith(`${OVERLAY_OPAQUE}=`)) continue;
    const value = line.slice(OVERLAY_OPAQUE.length + 1).replace(/^"|"$/g, '');
    if (value !== 'y') continue;
    const base = root.replace(/\/+$/, '');
    if (file === base) opaque.add('');
    else if (file.startsWith(`${base}/`)) opaque.add(file.slice(base.length + 1));
  }
  return opaque;
}

// getfattr writes bytes outside printable ASCII, and backslashes, as `\ooo` octal escapes.
function unescapeName(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const octal = /^\\([0-7]{3})/.exec(text.slice(i, i + 4));
    if (octal?.[1]) {
      bytes.push(Number.parseInt(octal[1], 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i] as string));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
