import { randomInt } from 'node:crypto';
import { InvalidArgumentError } from '../api/index.js';

// Docker's rule for container names (daemon/names: RestrictedNameChars).
const NAME_PATTERN = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** Returns the name with its leading slash, as Docker stores it, or throws InvalidArgumentError. */
export function normalizeContainerName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  return name.startsWith('/') ? name : `/${name}`;
}

const ADJECTIVES = [
  'brave',
  'calm',
  'eager',
  'fond',
  'gentle',
  'happy',
  'jolly',
  'keen',
  'lucid',
  'merry',
  'nifty',
  'proud',
  'quiet',
  'sharp',
  'sleepy',
  'steady',
  'swift',
  'tender',
  'vivid',
  'witty',
];
const NOUNS = [
  'anchor',
  'beacon',
  'buoy',
  'cutter',
  'dinghy',
  'ferry',
  'galley',
  'harbor',
  'keel',
  'ketch',
  'lighter',
  'mooring',
  'pier',
  'quay',
  'rudder',
  'schooner',
  'sloop',
  'tender',
  'wharf',
  'yawl',
];

/** A readable random name like Docker's `happy_turing`, unique among `taken`. */
export function generateContainerName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${NOUNS[randomInt(NOUNS.length)]}`;
    const name = `/${attempt < 10 ? base : `${base}${randomInt(1000)}`}`;
    if (!taken(name)) return name;
  }
}
