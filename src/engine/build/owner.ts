import { extract } from 'tar-stream';
import { InvalidArgumentError, NotFoundError } from '../../api/index.js';
import type { BuildContainers } from './types.js';

/**
 * `--chown=user[:group]` as ids: numbers as they are, names looked up in the
 * container's /etc/passwd and /etc/group. A user without a group gets the user's id,
 * as Docker does.
 */
export async function readOwner(
  containers: Pick<BuildContainers, 'getArchive'>,
  containerId: string,
  spec: string,
): Promise<{ uid: number; gid: number }> {
  const [user = '', group] = spec.split(':');
  const lookup = async (file: string, name: string): Promise<number> => {
    if (/^\d+$/.test(name)) return Number(name);
    const text = await readFileOf(containers, containerId, file);
    for (const line of text.split('\n')) {
      const fields = line.split(':');
      if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
    }
    throw new InvalidArgumentError(
      `unable to convert uid/gid chown string to host mapping: can't find uid for user ${name}: no such user: ${name}`,
    );
  };
  const uid = await lookup('/etc/passwd', user);
  const gid = group === undefined ? uid : await lookup('/etc/group', group);
  return { uid, gid };
}

async function readFileOf(
  containers: Pick<BuildContainers, 'getArchive'>,
  id: string,
  path: string,
): Promise<string> {
  const tar = await containers.getArchive(id, path).catch((e: unknown) => {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  });
  if (!tar) return '';
  const reader = extract();
  tar.pipe(reader);
  let text = '';
  for await (const entry of reader) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
    if (entry.header.type === 'file') text += Buffer.concat(chunks).toString('utf8');
  }
  return text;
}
