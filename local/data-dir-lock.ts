/**
 * One local runtime per data folder. dynalite's LevelDB and s3rver's files cannot be shared: a
 * second `npm start` on the same `.facematch/` used to die with dynalite's "Database is closed"
 * stack. The lock file holds the owner's pid; a lock whose process is gone (a crash, a kill -9)
 * is taken over.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'lock';

/** The lock files this process holds: a file naming our own pid that is not here is stale. */
const held = new Set<string>();

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `${dataDir} is in use by another facematch (pid ${pid}): stop it, or give this one its ` +
        'own folder with FACEMATCH_DATA_DIR',
    );
    this.name = 'DataDirInUseError';
  }
}

/** Takes the folder's lock; resolves to the function that gives it back. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  const mine = String(process.pid);
  for (let round = 1; ; round++) {
    try {
      await writeFile(path, mine, { flag: 'wx' });
      held.add(path);
      return async () => {
        held.delete(path);
        // Only our own lock: a stale one taken over by someone else is theirs now.
        if ((await readFile(path, 'utf8').catch(() => '')) === mine) await unlink(path);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || round > 1) throw error;
    }
    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    // Our own pid on a lock we do not hold: a container restarted after a kill -9 often gets the
    // same pid as the process that left the lock.
    const ours = owner === process.pid && !held.has(path);
    if (Number.isInteger(owner) && owner > 0 && !ours && isAlive(owner)) {
      throw new DataDirInUseError(dataDir, owner);
    }
    await unlink(path).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
