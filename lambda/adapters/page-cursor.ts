/**
 * Opaque page cursors: DynamoDB's LastEvaluatedKey, signed (HMAC-SHA256 under a key derived from
 * the data key) together with the query it belongs to. A caller can neither forge a position nor
 * carry a cursor from one query (or index partition) into another: either is a 400, and nothing
 * is read. The key is not secret from the service, only from callers; the position inside is ids
 * and times, nothing personal.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../core/errors.ts';
import { loadOnce } from './lazy-port.ts';

const HKDF_SALT = 'facematch/page-cursor';
const HKDF_INFO = 'facematch page-cursor hmac-sha256 v1';
/** Far above any real cursor (a key of three short attributes), far below a body-size concern. */
const MAX_CURSOR_LENGTH = 1024;

export type CursorPosition = Record<string, unknown>;

export const invalidCursor = (): ValidationError =>
  new ValidationError('invalid request: cursor', [
    { path: 'cursor', message: 'is not a cursor this query returned' },
  ]);

export class PageCursors {
  /** `keyMaterial` is the data key's secret value (read once, when the first cursor is used). */
  constructor(private readonly keyMaterial: () => Promise<string>) {}

  readonly #hmacKey = loadOnce(async () =>
    Buffer.from(hkdfSync('sha256', await this.keyMaterial(), HKDF_SALT, HKDF_INFO, 32)),
  );

  async #mac(query: string, payload: string): Promise<Buffer> {
    return createHmac('sha256', await this.#hmacKey())
      .update(query)
      .update('\n')
      .update(payload)
      .digest();
  }

  /** `query` names what the position belongs to (e.g. `review=open`). */
  async seal(query: string, position: CursorPosition): Promise<string> {
    const payload = Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
    return `${payload}.${(await this.#mac(query, payload)).toString('base64url')}`;
  }

  /** The position inside a cursor this query sealed; a 400 for anything else. */
  async open(query: string, cursor: string): Promise<CursorPosition> {
    if (cursor.length > MAX_CURSOR_LENGTH) throw invalidCursor();
    const [payload, mac, ...rest] = cursor.split('.');
    if (payload === undefined || mac === undefined || rest.length > 0) throw invalidCursor();
    const expected = await this.#mac(query, payload);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalidCursor();
    }
    const position: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof position !== 'object' || position === null || Array.isArray(position)) {
      throw invalidCursor();
    }
    return position as CursorPosition;
  }
}
