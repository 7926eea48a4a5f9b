/** What the volume subsystem keeps and hands out. */

/** One volume as stored under volumes/<name>/volume.json. */
export interface VolumeRecord {
  name: string;
  /** Only the `local` driver exists. */
  driver: 'local';
  /** RFC 3339. */
  createdAt: string;
  labels: Record<string, string>;
  /** The local driver's `type`, `device` and `o`, as given to `volume create --opt`. */
  options: Record<string, string>;
}

/** A volume with where it lives on the host. */
export interface Volume extends VolumeRecord {
  /** `<data-root>/volumes/<name>/_data`: what containers mount. */
  mountpoint: string;
}

/** Docker's label on volumes made for a container (anonymous); `volume prune` removes only those unless `--all`. */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

/**
 * One mount of a container, decided at create and kept in its record; inspect's and
 * ps' `Mounts` are made from these.
 */
export interface MountRecord {
  type: 'volume' | 'bind' | 'tmpfs';
  /** The volume's name (volumes only). */
  name?: string;
  /** Host path: the bind source or the volume's _data; '' for tmpfs. */
  source: string;
  destination: string;
  readonly: boolean;
  /** Docker's `Mode`: the options of a `-v` spec as given (`ro`, `z`, ...), '' otherwise. */
  mode: string;
  /** Binds: their propagation ('rprivate' by default); '' for volumes and tmpfs. */
  propagation: string;
  /** Volumes: do not fill a new, empty volume from the image. */
  noCopy?: boolean;
  /** Volumes made for this container (`-v /path`, image VOLUME): `rm -v` removes them. */
  anonymous?: boolean;
  /** Binds: a plain `bind` instead of `rbind`. */
  nonRecursive?: boolean;
  /** tmpfs: mount(8) options such as `size=65536k`, `mode=1777`. */
  tmpfsOptions?: string[];
  /** tmpfs from HostConfig.Tmpfs: Docker does not list those in inspect's Mounts. */
  hidden?: boolean;
}

/** The part of the daemon's logger volumes use (pino's signature). */
export interface VolumeLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
