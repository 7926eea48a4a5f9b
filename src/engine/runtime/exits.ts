import { type FSWatcher, watch } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** A safety net for missed fs.watch events; exits are normally noticed at once. */
const RESCAN_MS = 5000;

type ExitListener = (id: string) => void;

/**
 * Watches conmon's exit dir. A name counts as an exit once its file exists and `isOurs`
 * says it names a container (glib writes the file under a temp name first, then renames).
 * Exit files present at start are old news: they are not announced.
 */
export class ExitWatcher {
  private readonly listeners = new Set<ExitListener>();
  private readonly announced = new Set<string>();
  private readonly checking = new Set<string>();
  private watcher: FSWatcher | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly dir: string,
    private readonly isOurs: (name: string) => Promise<boolean>,
  ) {}

  static async start(dir: string, isOurs: (name: string) => Promise<boolean>): Promise<ExitWatcher> {
    const exits = new ExitWatcher(dir, isOurs);
    for (const name of await readdir(dir)) exits.announced.add(name);
    exits.watcher = watch(dir, (_event, name) => {
      if (name) exits.check(name);
    });
    exits.watcher.on('error', (e) => process.emitWarning(e));
    exits.rescanTimer = setInterval(() => exits.rescan(), RESCAN_MS);
    exits.rescanTimer.unref();
    return exits;
  }

  onExit(listener: ExitListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The container's exit file is gone (deleted); a new exit of the same id is news again. */
  forget(id: string): void {
    this.announced.delete(id);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.rescanTimer);
    this.listeners.clear();
  }

  private rescan(): void {
    readdir(this.dir).then(
      (names) => {
        for (const name of names) this.check(name);
      },
      (e: unknown) => process.emitWarning(e as Error),
    );
  }

  private check(name: string): void {
    if (this.announced.has(name) || this.checking.has(name)) return;
    this.checking.add(name);
    this.isExit(name)
      .then((isExit) => {
        if (!isExit || this.announced.has(name)) return;
        this.announced.add(name);
        for (const listener of this.listeners) listener(name);
      })
      .catch((e: unknown) => process.emitWarning(e as Error))
      .finally(() => this.checking.delete(name));
  }

  private async isExit(name: string): Promise<boolean> {
    try {
      await access(join(this.dir, name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    return this.isOurs(name);
  }
}
