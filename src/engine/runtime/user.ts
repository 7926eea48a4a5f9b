import { InvalidArgumentError } from '../../api/index.js';
import { readFileInRoot } from './rootfs-path.js';

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const id = Number(text);
  if (id > MAX_ID) throw new InvalidArgumentError(`uids and gids must be in range 0-${MAX_ID}`);
  return id;
}

/** Lines of a colon-separated database; comments and malformed lines are skipped as libc does. */
function records(text: string | undefined, fieldCount: number): string[][] {
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= fieldCount && /^\d+$/.test(fields[2] ?? ''));
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  return records(text, 4).map(([name = '', , uid = '', gid = '']) => ({
    name,
    uid: Number(uid),
    gid: /^\d+$/.test(gid) ? Number(gid) : 0,
  }));
}

function parseGroup(text: string | undefined): GroupEntry[] {
  return records(text, 3).map(([name = '', , gid = '', members = '']) => ({
    name,
    gid: Number(gid),
    members: members.split(',').filter(Boolean),
  }));
}

/**
 * Resolves Docker's `-u` (`''`, `name`, `uid`, `name:group`, `uid:gid`, ...) against the
 * rootfs' own /etc/passwd and /etc/group, with runc's rules: a name must exist, a number
 * need not; an empty user means uid 0; supplementary groups come from /etc/group only
 * when no group was given and the user matched a passwd entry.
 */
export async function resolveUser(rootfs: string, user: string): Promise<ProcessUser> {
  const colon = user.indexOf(':');
  const userArg = (colon < 0 ? user : user.slice(0, colon)) || '0';
  const groupArg = colon < 0 ? '' : user.slice(colon + 1);

  const passwd = parsePasswd(await readFileInRoot(rootfs, '/etc/passwd'));
  const numericUid = parseId(userArg);
  const matched = passwd.find((entry) => entry.name === userArg || entry.uid === numericUid);
  if (!matched && numericUid === undefined) {
    throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }
  const result: ProcessUser = {
    uid: matched?.uid ?? (numericUid as number),
    gid: matched?.gid ?? 0,
    additionalGids: [],
  };
  if (groupArg === '' && !matched) return result;

  const groups = parseGroup(await readFileInRoot(rootfs, '/etc/group'));
  if (groupArg === '') {
    const name = (matched as PasswdEntry).name;
    result.additionalGids = [...new Set(groups.filter((g) => g.members.includes(name)).map((g) => g.gid))];
    return result;
  }
  const numericGid = parseId(groupArg);
  const group = groups.find((g) => g.name === groupArg || g.gid === numericGid);
  if (!group && numericGid === undefined) {
    throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`);
  }
  result.gid = group?.gid ?? (numericGid as number);
  return result;
}
