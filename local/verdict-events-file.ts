/**
 * The local stand-in for EventBridge: each final verdict's event is printed and appended, as one
 * JSON line shaped like an EventBridge event, to `<data dir>/events.jsonl`.
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import {
  DATA_SUBJECT_ERASED_DETAIL_TYPE,
  REVIEW_EVENT_DETAIL_TYPE,
  VERDICT_EVENT_DETAIL_TYPE,
  VERDICT_EVENT_SOURCE,
} from '../lambda/adapters/verdict-events.ts';
import type { ReviewEvents, VerdictEventDetail, VerdictEvents } from '../lambda/core/ports.ts';
import type { SubjectEvents } from '../lambda/core/subjects.ts';

export class FileVerdictEvents implements VerdictEvents, SubjectEvents, ReviewEvents {
  constructor(
    private readonly file: string,
    private readonly print: (line: string) => void,
  ) {}

  async erased(detail: Parameters<SubjectEvents['erased']>[0]): Promise<void> {
    await this.append(DATA_SUBJECT_ERASED_DETAIL_TYPE, detail);
    this.print(
      `event ${DATA_SUBJECT_ERASED_DETAIL_TYPE}: ${detail.erased.records} record(s), receipt ${detail.receipt_id}`,
    );
  }

  async publish(detail: VerdictEventDetail): Promise<void> {
    await this.append(VERDICT_EVENT_DETAIL_TYPE, detail);
    this.print(
      `event ${VERDICT_EVENT_DETAIL_TYPE}: ${detail.verification_id} ${detail.status} ${detail.decision ?? detail.error?.code ?? ''}`,
    );
  }

  async reviewed(detail: VerdictEventDetail): Promise<void> {
    await this.append(REVIEW_EVENT_DETAIL_TYPE, detail);
    this.print(
      `event ${REVIEW_EVENT_DETAIL_TYPE}: ${detail.verification_id} ${detail.decision ?? ''}`,
    );
  }

  /** One JSON line shaped like the EventBridge event the stack's bus would carry. */
  private async append(detailType: string, detail: unknown): Promise<void> {
    const event = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: VERDICT_EVENT_SOURCE,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'ap-southeast-3',
      resources: [],
      detail,
    };
    await appendFile(this.file, `${JSON.stringify(event)}\n`);
  }
}
