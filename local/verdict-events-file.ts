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
import type { VerdictEventDetail, VerdictEvents } from '../lambda/core/ports.ts';

/** The EventBridge-shaped event written to the file (and handed to the local webhooks). */
export interface LocalVerdictEvent {
  id: string;
  'detail-type': string;
  source: string;
  time: string;
  detail: VerdictEventDetail;
}

export class FileVerdictEvents implements VerdictEvents {
  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void,
    /** Called with each event once it is written, as an EventBridge rule would see it. */
    private readonly notify?: (event: LocalVerdictEvent) => void,
  ) {}

  async publish(detail: VerdictEventDetail): Promise<void> {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': VERDICT_EVENT_DETAIL_TYPE,
      source: VERDICT_EVENT_SOURCE,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'ap-southeast-3',
      resources: [],
      detail,
    };
    await appendFile(this.file, `${JSON.stringify(event)}\n`);
    this.notify?.(event);
    this.print(
      `event ${VERDICT_EVENT_DETAIL_TYPE}: ${detail.verification_id} ${detail.status} ${detail.decision ?? detail.error?.code ?? ''}`,
    );
  }
}
