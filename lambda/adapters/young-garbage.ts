/**
 * Hands back the memory a large HTTP read leaves behind, as the read goes.
 *
 * Node's HTTP client holds every received body chunk twice: the socket's read buffer and
 * llhttp's copy of the body part (10 MiB of ArrayBuffers to receive 5 MiB, measured). Both are
 * garbage at once, but V8 frees an ArrayBuffer's memory only when it collects the object, and a
 * read allocates too little on the JS heap to prompt a collection: a 5 MiB selfie left ~7-10 MiB
 * of dead buffers in RSS until after the IDmeta call. Lambda's Node runtime starts node with
 * `--expose-gc` (and sizes the young generation from the function's memory, so collections come
 * later still there); where `gc` is exposed, a young-generation collection every
 * `RELEASE_EVERY_BYTES` received (~0.6 ms each, only young objects) returns those buffers while
 * the next ones are read. Where it is not (local runs, tests), nothing happens.
 */

export const RELEASE_EVERY_BYTES = 512 * 1024;

type ExposedGc = (options?: { type?: 'major' | 'minor' }) => void;

export class YoungGarbageReleaser {
  #sinceRelease = 0;

  /** Counts bytes just received; collects young garbage each `RELEASE_EVERY_BYTES`. */
  received(byteLength: number): void {
    this.#sinceRelease += byteLength;
    if (this.#sinceRelease < RELEASE_EVERY_BYTES) return;
    this.#sinceRelease = 0;
    // Looked up at each call: whether the process exposes it is its start flags' business.
    const gc = (globalThis as { gc?: ExposedGc }).gc;
    if (typeof gc === 'function') gc({ type: 'minor' });
  }
}
