/**
 * The local stand-in for EventBridge: each event (a final verdict, a data subject's erasure) is
 * printed and appended, as one JSON line shaped like an EventBridge event, to
 * `<data dir>/events.jsonl`, and handed to the local webhooks as a bus rule would hand it.
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import {
  EVENT_DETAIL_TYPES,
  EVENT_SOURCE,
  type ReviewEvents,
  type VerdictEventDetail,
  type VerdictEvents,
} from '../lambda/core/ports.ts';
import type { SubjectEvents } from '../lambda/core/subjects.ts';

type ErasureDetail = Parameters<SubjectEvents['erased']>[0];

/** The EventBridge-shaped event written to the file (and handed to the local webhooks). */
export interface LocalVerdictEvent {
  id: string;
  'detail-type': string;
  source: string;
  time: string;
  detail: VerdictEventDetail | ErasureDetail;
}

export class FileVerdictEvents implements VerdictEvents, SubjectEvents, ReviewEvents {
  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void,
    /** Called with each event once it is written, as an EventBridge rule would see it. */
    private readonly notify?: (event: LocalVerdictEvent) => void,
  ) {}

  async erased(detail: ErasureDetail): Promise<void> {
    await this.append(EVENT_DETAIL_TYPES.erasure, detail);
    this.print(
      `event ${EVENT_DETAIL_TYPES.erasure}: ${detail.erased.records} record(s), receipt ${detail.receipt_id}`,
    );
  }

  async publish(detail: VerdictEventDetail): Promise<void> {
    await this.append(EVENT_DETAIL_TYPES.verdict, detail);
    this.print(
      `event ${EVENT_DETAIL_TYPES.verdict}: ${detail.verification_id} ${detail.status} ${detail.decision ?? detail.error?.code ?? ''}`,
    );
  }

  async reviewed(detail: VerdictEventDetail): Promise<void> {
    await this.append(EVENT_DETAIL_TYPES.review, detail);
    this.print(
      `event ${EVENT_DETAIL_TYPES.review}: ${detail.verification_id} ${detail.decision ?? ''}`,
    );
  }

  /** One JSON line shaped like the EventBridge event the stack's bus would carry. */
  private async append(detailType: string, detail: LocalVerdictEvent['detail']): Promise<void> {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: EVENT_SOURCE,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'ap-southeast-3',
      resources: [],
      detail,
    };
    await appendFile(this.file, `${JSON.stringify(event)}\n`);
    this.notify?.(event);
  }
}
