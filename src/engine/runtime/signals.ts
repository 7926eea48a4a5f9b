import { InvalidArgumentError } from '../../api/index.js';

/** Linux signal numbers (x86-64 and arm64 agree on these). */
const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  IOT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  POLL: 29,
  PWR: 30,
  SYS: 31,
};
// glibc reserves 32 and 33 for threads, so user-visible real-time signals start at 34.
const RTMIN = 34;
const RTMAX = 64;

function invalid(name: string | number): never {
  throw new InvalidArgumentError(`Invalid signal: ${name}`);
}

/**
 * Docker's signal spellings: `TERM`, `SIGTERM`, `sigterm`, `9`, `RTMIN+3`, `SIGRTMAX-1`.
 * InvalidArgumentError (`Invalid signal: X`) for anything else.
 */
export function signalNumber(name: string | number): number {
  if (typeof name === 'number') {
    if (!Number.isInteger(name) || name < 1 || name > RTMAX) invalid(name);
    return name;
  }
  const text = name.trim();
  if (/^\d+$/.test(text)) return signalNumber(Number(text));
  const bare = text.toUpperCase().replace(/^SIG/, '');
  const known = SIGNALS[bare];
  if (known !== undefined) return known;
  const realtime = /^RT(MIN|MAX)(?:([+-])(\d+))?$/.exec(bare);
  if (realtime) {
    const base = realtime[1] === 'MIN' ? RTMIN : RTMAX;
    const offset = Number(realtime[3] ?? 0) * (realtime[2] === '-' ? -1 : 1);
    const number = base + offset;
    if (number >= RTMIN && number <= RTMAX) return number;
  }
  return invalid(name);
}
