/**
 * The local stand-in for EventBridge: each final verdict's event is printed and appended, as one
 * JSON line shaped like an EventBridge event, to `<data dir>/events.jsonl`.
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import {
  VERDICT_EVENT_DETAIL_TYPE,
  VERDICT_EVENT_SOURCE,
} from '../lambda/adapters/verdict-events.ts';
import type { VerdictEventDetail, VerdictEvents, VerdictEventType } from '../lambda/core/ports.ts';

export class FileVerdictEvents implements VerdictEvents {
  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void,
  ) {}

  async publish(
    detail: VerdictEventDetail,
    type: VerdictEventType = VERDICT_EVENT_DETAIL_TYPE,
  ): Promise<void> {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': type,
      source: VERDICT_EVENT_SOURCE,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'ap-southeast-3',
      resources: [],
      detail,
    };
    await appendFile(this.file, `${JSON.stringify(event)}\n`);
    this.print(
      `event ${type}: ${detail.verification_id} ${detail.status} ${detail.decision ?? detail.error?.code ?? ''}`,
    );
  }
}
