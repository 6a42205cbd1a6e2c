import { afterEach, describe, expect, it, vi } from 'vitest';
import { RELEASE_EVERY_BYTES, YoungGarbageReleaser } from '../../lambda/adapters/young-garbage.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('YoungGarbageReleaser', () => {
  it('asks for one young collection each time RELEASE_EVERY_BYTES have been received', () => {
    // Prepare
    const gc = vi.fn();
    vi.stubGlobal('gc', gc);
    const releaser = new YoungGarbageReleaser();

    // Act: 64 KiB chunks, as a socket delivers them, for 2.5 x the step.
    for (let received = 0; received < 2.5 * RELEASE_EVERY_BYTES; received += 64 * 1024) {
      releaser.received(64 * 1024);
    }

    // Assess
    expect(gc.mock.calls).toEqual([[{ type: 'minor' }], [{ type: 'minor' }]]);
  });

  it('never collects for a read smaller than one step', () => {
    // Prepare
    const gc = vi.fn();
    vi.stubGlobal('gc', gc);

    // Act
    new YoungGarbageReleaser().received(RELEASE_EVERY_BYTES - 1);

    // Assess
    expect(gc).not.toHaveBeenCalled();
  });

  it('does nothing where node runs without --expose-gc', () => {
    // Prepare
    vi.stubGlobal('gc', undefined);

    // Act
    const receive = () => new YoungGarbageReleaser().received(3 * RELEASE_EVERY_BYTES);

    // Assess
    expect(receive).not.toThrow();
  });
});
