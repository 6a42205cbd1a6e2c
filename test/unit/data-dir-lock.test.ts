import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../local/data-dir-lock.ts';

describe('lockDataDir', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'facematch-lock-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second owner while the first holds the folder, naming the way out', async () => {
    // Prepare
    const unlock = await lockDataDir(dir);

    // Act
    const second = lockDataDir(dir);

    // Assess
    await expect(second).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(lockDataDir(dir)).rejects.toThrow(
      `is in use by another facematch (pid ${process.pid})`,
    );
    await expect(lockDataDir(dir)).rejects.toThrow('FACEMATCH_DATA_DIR');
    await unlock();
  });

  it('is free again once given back', async () => {
    // Prepare
    const unlock = await lockDataDir(dir);
    await unlock();

    // Act
    const again = await lockDataDir(dir);

    // Assess
    expect(await readFile(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    await again();
  });

  it('takes over a lock naming its own pid that it does not hold (a restarted container)', async () => {
    // Prepare: the process that left it had the pid this one has now.
    await writeFile(join(dir, 'lock'), String(process.pid));

    // Act
    const unlock = await lockDataDir(dir);

    // Assess: taken; and held now, so a second taker in this process is refused.
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirInUseError);
    await unlock();
  });

  it('takes over the lock of a process that is gone (a crash, a kill -9)', async () => {
    // Prepare: the pid of a process that has exited.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await writeFile(join(dir, 'lock'), gone.stdout);

    // Act
    const unlock = await lockDataDir(dir);

    // Assess
    expect(await readFile(join(dir, 'lock'), 'utf8')).toBe(String(process.pid));
    await unlock();
  });
});
