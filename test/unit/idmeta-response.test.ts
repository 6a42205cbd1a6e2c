import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseCreateVerificationResponse,
  parseFacematchResponse,
  parsePercentage,
} from '../../lambda/adapters/idmeta-response.ts';
import { IdmetaCheckFailedError, IdmetaProtocolError } from '../../lambda/core/errors.ts';

/** The provider page's sample response, verbatim. */
const DOC_SAMPLE = `{
  "status": "VERIFIED",
  "message": "OK",
  "result": {
    "success": true,
    "message": "Berhasil",
    "data": {
      "nik": true,
      "name": true,
      "date_of_birth": true,
      "selfie_image_percentage": "99.8",
      "liveness_result": null,
      "liveness_fail_message": "",
      "no_kk": null,
      "mother_maiden_name": null,
      "place_of_birth": true,
      "address": true,
      "gender": true,
      "marital_status": true,
      "job_type": true,
      "province": true,
      "city": true,
      "district": true,
      "subdistrict": true,
      "rt": true,
      "rw": true,
      "uuid": "f26c9465-9e81-4f58-980f-a94d42aa519d",
      "url": "",
      "reason_code": "0",
      "error_message": null
    }
  },
  "risk_rating": "LOW",
  "api_request_status": 1
}`;

const NIK = '3201120606930001';

type Body = Record<string, unknown>;
const sample = (): Body => JSON.parse(DOC_SAMPLE) as Body;
const data = (body: Body) => (body.result as Body).data as Body;
const parse = (body: unknown, status = 200) => parseFacematchResponse(status, JSON.stringify(body));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('parseFacematchResponse', () => {
  it('reads the documented sample as VERIFIED, 99.8 and every field matched', () => {
    // Act
    const result = parseFacematchResponse(200, DOC_SAMPLE);

    // Assess
    expect(result).toEqual({
      outcome: 'VERIFIED',
      rawStatus: 'VERIFIED',
      message: 'OK',
      matches: {
        nik: true,
        name: true,
        date_of_birth: true,
        liveness_result: null,
        no_kk: null,
        mother_maiden_name: null,
        place_of_birth: true,
        address: true,
        gender: true,
        marital_status: true,
        job_type: true,
        province: true,
        city: true,
        district: true,
        subdistrict: true,
        rt: true,
        rw: true,
      },
      faceSimilarity: 99.8,
      riskRating: 'LOW',
      reasonCode: '0',
      uuid: 'f26c9465-9e81-4f58-980f-a94d42aa519d',
      apiRequestStatus: 1,
    });
  });

  it.each([
    ['VERIFIED', 'VERIFIED'],
    ['verified', 'VERIFIED'],
    [' Rejected ', 'REJECTED'],
    ['REJECTED', 'REJECTED'],
    ['REVIEW', 'UNKNOWN'],
    [true, 'UNKNOWN'],
    [null, 'UNKNOWN'],
    [42, 'UNKNOWN'],
  ])('maps status %j to outcome %s', (status, outcome) => {
    const body = sample();
    body.status = status;
    expect(parse(body).outcome).toBe(outcome);
  });

  it('keeps the raw status as sent', () => {
    const body = sample();
    body.status = true;
    expect(parse(body).rawStatus).toBe(true);
    body.status = 'verified';
    expect(parse(body).rawStatus).toBe('verified');
  });

  it('accepts result as a JSON string', () => {
    const body = sample();
    body.result = JSON.stringify(body.result);
    const result = parse(body);
    expect(result.outcome).toBe('VERIFIED');
    expect(result.faceSimilarity).toBe(99.8);
    expect(result.matches.nik).toBe(true);
  });

  it.each([
    ['99.8', 99.8],
    ['99,8', 99.8],
    [' 87.5 % ', 87.5],
    [99.8, 99.8],
    [0, 0],
    ['100', 100],
    [null, null],
    ['', null],
    ['abc', null],
    ['1e2', null],
    [-1, null],
    ['100.1', null],
    [Number.NaN, null],
    [true, null],
  ])('reads selfie_image_percentage %j as %j', (value, expected) => {
    const body = sample();
    data(body).selfie_image_percentage = value;
    expect(parse(body).faceSimilarity).toBe(expected);
    expect(parsePercentage(value)).toBe(expected);
  });

  it('keeps field matches as true, false or null and tolerates "true"/"false" strings', () => {
    const body = sample();
    Object.assign(data(body), {
      nik: 'true',
      name: 'FALSE',
      date_of_birth: false,
      place_of_birth: null,
      gender: 'yes',
      custom_field: ' true ',
    });
    const { matches } = parse(body);
    expect(matches.nik).toBe(true);
    expect(matches.name).toBe(false);
    expect(matches.date_of_birth).toBe(false);
    expect(matches.place_of_birth).toBeNull();
    // Undocumented: dropped, however boolean it looks.
    expect(matches).not.toHaveProperty('custom_field');
    expect(matches).not.toHaveProperty('gender');
  });

  it('keeps only the documented match fields, and counts the keys it drops without naming them', () => {
    // Prepare: keys named after the person, as a leaky or hostile answer might send them
    const body = sample();
    Object.assign(data(body), {
      [NIK]: true,
      Agus_Wibisono: true,
      dob_12_06_1993: false,
      gender: true,
      rt: null,
    });
    const counts: number[] = [];

    // Act
    const result = parseFacematchResponse(200, JSON.stringify(body), {
      onUnknownFields: (count) => counts.push(count),
    });

    // Assess
    expect(Object.keys(result.matches).sort()).toEqual(
      ['address', 'city', 'date_of_birth', 'district', 'gender', 'job_type', 'marital_status']
        .concat(['name', 'nik', 'place_of_birth', 'province', 'rt', 'rw', 'subdistrict'])
        .concat(['liveness_result', 'mother_maiden_name', 'no_kk'])
        .sort(),
    );
    expect(counts).toEqual([3]);
    expect(JSON.stringify(result)).not.toMatch(/3201120606930001|Agus|1993/);
  });

  it('reports no unknown fields for the documented sample', () => {
    const counts: number[] = [];
    parseFacematchResponse(200, JSON.stringify(sample()), {
      onUnknownFields: (n) => counts.push(n),
    });
    expect(counts).toEqual([]);
  });

  it.each([
    ['a date', '12-06-1993'],
    ['a compact date', '120693'],
    ['a name', 'BUDI'],
    ['a lower-case word', 'budi_santoso'],
    ['a NIK-like run', `E${NIK.slice(0, 10)}`],
    ['a long code', `E_${'A'.repeat(40)}`],
    ['free text', 'NOT FOUND'],
  ])('drops a reason_code that is %s', (_label, value) => {
    const body = sample();
    data(body).reason_code = value;
    expect(parse(body).reasonCode).toBeNull();
  });

  it.each(['0', '12', 'E101', 'NOT_FOUND', 'FACE_MISMATCH_2'])(
    'keeps the reason_code %j',
    (value) => {
      const body = sample();
      data(body).reason_code = value;
      expect(parse(body).reasonCode).toBe(value);
    },
  );

  it.each([
    '12-06-1993',
    'Budi-Santoso',
    'abc',
    'f26c9465-9e81-4f58-980f',
    'f26c9465x9e81x4f58x980fxa94d42aa519d',
  ])('drops a uuid that is not a UUID: %j', (value) => {
    const body = sample();
    data(body).uuid = value;
    expect(parse(body).uuid).toBeNull();
  });

  it('leaves non-match fields out of matches even when they look boolean', () => {
    const body = sample();
    Object.assign(data(body), { uuid: null, url: null, error_message: null, reason_code: null });
    const { matches } = parse(body);
    for (const field of [
      'uuid',
      'url',
      'reason_code',
      'error_message',
      'liveness_fail_message',
      'selfie_image_percentage',
    ]) {
      expect(matches).not.toHaveProperty(field);
    }
  });

  it('always reports nik, name and date_of_birth, null when IDmeta left them out', () => {
    const result = parse({ status: 'VERIFIED', result: { success: true, data: {} } });
    expect(result.matches).toEqual({ nik: null, name: null, date_of_birth: null });
    expect(result.faceSimilarity).toBeNull();
    expect(result.riskRating).toBeNull();
    expect(result.reasonCode).toBeNull();
    expect(result.uuid).toBeNull();
    expect(result.apiRequestStatus).toBeNull();
    expect(result.message).toBeNull();
  });

  describe('free text from IDmeta (UU PDP: nothing personal is kept)', () => {
    /** An undocumented status text echoing a name, a date of birth and a NIK with separators. */
    const LEAKY = 'Data Agus Wibisono 12-06-1993 NIK 3201-0112-0693-0001 sesuai';
    const PERSONAL = ['Agus', 'Wibisono', '12-06-1993', '3201-0112-0693-0001', '0693', NIK];

    it.each([
      'OK',
      'Success',
      'Berhasil',
      'Failed',
      'Gagal',
      'Verified',
      'Rejected',
      'Not Found',
      'Data tidak ditemukan',
    ])('keeps the generic message %j', (message) => {
      const body = sample();
      body.message = message;
      expect(parse(body).message).toBe(message);
    });

    it.each([
      [' ok ', 'ok'],
      ['SUCCESS', 'SUCCESS'],
      ['not  found', 'not found'],
      ['DATA TIDAK DITEMUKAN\n', 'DATA TIDAK DITEMUKAN'],
    ])('compares %j trimmed and case-insensitively', (message, kept) => {
      const body = sample();
      body.message = message;
      expect(parse(body).message).toBe(kept);
    });

    it.each([
      LEAKY,
      `NIK ${NIK} tidak ditemukan`,
      'Agus Wibisono',
      'OK Agus Wibisono',
      'Berhasil: 12-06-1993',
      '',
      '   ',
    ])('drops any other message to null: %j', (message) => {
      const body = sample();
      body.message = message;
      const result = parse(body);
      expect(result.message).toBeNull();
      expect(result).toHaveProperty('message', null);
      for (const part of PERSONAL) expect(JSON.stringify(result)).not.toContain(part);
    });

    it.each([42, true, { text: 'OK' }, ['OK']])('drops a message that is not a string: %j', (m) => {
      const body = sample();
      body.message = m;
      expect(parse(body).message).toBeNull();
    });

    it('never reads result.message, error_message or liveness_fail_message', () => {
      const body = sample();
      const result = body.result as Body;
      result.message = LEAKY;
      Object.assign(data(body), { error_message: LEAKY, liveness_fail_message: LEAKY });
      const text = JSON.stringify(parse(body));
      for (const part of PERSONAL) expect(text).not.toContain(part);
    });

    it('keeps status and risk_rating only as a known status or rating word, or a generic text', () => {
      const body = sample();
      body.status = 'review_needed';
      body.risk_rating = ' MEDIUM ';
      expect(parse(body)).toMatchObject({ rawStatus: 'review_needed', riskRating: 'MEDIUM' });
      body.status = 'Not Found';
      expect(parse(body).rawStatus).toBe('Not Found');

      // A single word can be a name: an unknown word is dropped, however code-like it looks.
      for (const word of ['BUDI', 'Budi_Santoso', 'PENDING_REVIEW']) {
        body.status = word;
        body.risk_rating = word;
        expect(parse(body)).toMatchObject({ rawStatus: null, riskRating: null });
      }

      body.status = LEAKY;
      body.risk_rating = LEAKY;
      const result = parse(body);
      expect(result).toMatchObject({ outcome: 'UNKNOWN', rawStatus: null, riskRating: null });
      for (const part of PERSONAL) expect(JSON.stringify(result)).not.toContain(part);

      for (const word of ['HIGH 3201011206930001', 'Agus Wibisono', '12-06-1993']) {
        body.risk_rating = word;
        expect(parse(body).riskRating).toBeNull();
      }
    });
  });

  it('reads reason_code given as a number', () => {
    const body = sample();
    data(body).reason_code = 0;
    expect(parse(body).reasonCode).toBe('0');
  });

  it.each([
    ['reason_code', NIK],
    ['reason_code', '3201-1206-0693-0001'],
    ['uuid', `${NIK.slice(0, 8)}-${NIK.slice(8)}`],
  ])('drops a %s that could be a NIK (%s): it is stored and published', (field, value) => {
    // Prepare
    const body = sample();
    data(body)[field] = value;

    // Act
    const result = parse(body);

    // Assess
    expect(field === 'uuid' ? result.uuid : result.reasonCode).toBeNull();
    expect(JSON.stringify(result)).not.toMatch(/3201.?1206.?0693.?0001|32011206-06930001/);
  });

  describe('a 2xx that says the check failed', () => {
    it.each([
      ['status false', { status: false, message: `NIK ${NIK} error`, result: null }],
      ['status "false"', { status: 'false', result: { success: true, data: {} } }],
      [
        'result.success false',
        { status: 'VERIFIED', result: { success: false, message: NIK, data: null } },
      ],
      [
        'result.success false in a JSON string',
        { status: 'REJECTED', result: JSON.stringify({ success: false }) },
      ],
    ])('%s: IdmetaCheckFailedError without IDmeta text', (_name, body) => {
      const error = thrown(() => parse(body));
      expect(error).toBeInstanceOf(IdmetaCheckFailedError);
      expect(String(error)).not.toContain(NIK);
      expect(JSON.stringify(error)).not.toContain(NIK);
      expect((error as IdmetaCheckFailedError).httpStatus).toBe(200);
    });

    it('carries reason_code, but not error_message', () => {
      const error = thrown(() =>
        parse({
          status: false,
          result: {
            success: false,
            data: { reason_code: '12', error_message: `NIK ${NIK} not found` },
          },
        }),
      );
      expect(error).toBeInstanceOf(IdmetaCheckFailedError);
      expect(String(error)).toContain('reason_code 12');
      expect(String(error)).not.toContain(NIK);
    });

    it('drops a reason_code that is not a short code', () => {
      const error = thrown(() =>
        parse({ status: false, result: { data: { reason_code: `bad ${NIK} code` } } }),
      );
      expect(String(error)).not.toContain(NIK);
      expect(String(error)).not.toContain('reason_code');
    });
  });

  describe('a body it cannot understand', () => {
    it.each([
      ['HTML', '<html><body>502 Bad Gateway</body></html>'],
      ['truncated JSON', DOC_SAMPLE.slice(0, 100)],
      ['empty', ''],
      ['an array', '[]'],
      ['null', 'null'],
      ['a string', '"VERIFIED"'],
      ['no result', JSON.stringify({ status: 'VERIFIED' })],
      ['result.data missing', JSON.stringify({ status: 'VERIFIED', result: { success: true } })],
      ['result.data not an object', JSON.stringify({ status: true, result: { data: [true] } })],
      ['result an unparsable string', JSON.stringify({ status: 'VERIFIED', result: '{nope' })],
    ])('%s: IdmetaProtocolError with the HTTP status', (_name, text) => {
      const error = thrown(() => parseFacematchResponse(200, text));
      expect(error).toBeInstanceOf(IdmetaProtocolError);
      expect((error as IdmetaProtocolError).httpStatus).toBe(200);
    });

    it('never quotes the body, even in the cause', () => {
      const error = thrown(() => parseFacematchResponse(200, `{"nik": "${NIK}", oops`));
      expect(error).toBeInstanceOf(IdmetaProtocolError);
      expect(String(error)).not.toContain(NIK);
      expect((error as Error).cause).toBeUndefined();
    });
  });

  it('property: any string in, a result or one of the two IDmeta errors out', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        assertParsesOrThrowsKnown(() => parseFacematchResponse(200, text));
      }),
      { numRuns: 500 },
    );
  });

  it('property: any JSON value in, a result or one of the two IDmeta errors out', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertParsesOrThrowsKnown(() => parseFacematchResponse(200, JSON.stringify(value)));
      }),
      { numRuns: 500 },
    );
  });

  it('property: near-miss shapes in, a well-formed result or one of the two errors out', () => {
    const loose = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.constantFrom('true', 'false', 'VERIFIED', 'rejected', '', '99,8', '0'),
      fc.double(),
      fc.string(),
      fc.jsonValue(),
    );
    const dataArb = fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'nik',
          'name',
          'selfie_image_percentage',
          'reason_code',
          'uuid',
          '__proto__',
          'constructor',
        ),
        fc.string(),
      ),
      loose,
    );
    const resultArb = fc.record(
      { success: loose, message: loose, data: fc.oneof(dataArb, loose) },
      { requiredKeys: [] },
    );
    const bodyArb = fc.record(
      {
        status: loose,
        message: loose,
        result: fc.oneof(
          resultArb,
          resultArb.map((r) => JSON.stringify(r)),
          loose,
        ),
        risk_rating: loose,
        api_request_status: loose,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(bodyArb, (body) => {
        assertParsesOrThrowsKnown(() => parseFacematchResponse(200, JSON.stringify(body)));
      }),
      { numRuns: 1000 },
    );
  });
});

function assertParsesOrThrowsKnown(parse: () => ReturnType<typeof parseFacematchResponse>): void {
  let result: ReturnType<typeof parseFacematchResponse>;
  try {
    result = parse();
  } catch (error) {
    if (error instanceof IdmetaProtocolError || error instanceof IdmetaCheckFailedError) return;
    throw error;
  }
  expect(['VERIFIED', 'REJECTED', 'UNKNOWN']).toContain(result.outcome);
  for (const value of Object.values(result.matches)) {
    expect([true, false, null]).toContain(value);
  }
  if (result.faceSimilarity !== null) {
    expect(result.faceSimilarity).toBeGreaterThanOrEqual(0);
    expect(result.faceSimilarity).toBeLessThanOrEqual(100);
  }
}

describe('parseCreateVerificationResponse', () => {
  it.each([
    [{ verification: { id: 'abc-123' } }, 'abc-123'],
    [{ verification: { id: 98765, status: 99 } }, '98765'],
    [{ verification: { id: 'a1_b.c:d-e' }, other: true }, 'a1_b.c:d-e'],
    [{ verification: { id: 'x'.repeat(128) } }, 'x'.repeat(128)],
  ])('reads verification.id from %j', (body, id) => {
    expect(parseCreateVerificationResponse(201, JSON.stringify(body))).toBe(id);
  });

  it.each([
    ['not JSON', '<html></html>'],
    ['no verification', JSON.stringify({ id: 'abc' })],
    ['id missing', JSON.stringify({ verification: {} })],
    ['id null', JSON.stringify({ verification: { id: null } })],
    ['id empty', JSON.stringify({ verification: { id: '' } })],
    ['id with a slash', JSON.stringify({ verification: { id: '../etc' } })],
    ['id with a space', JSON.stringify({ verification: { id: 'a b' } })],
    ['id starting with a dash', JSON.stringify({ verification: { id: '-abc' } })],
    ['id too long', JSON.stringify({ verification: { id: 'x'.repeat(129) } })],
    ['id a fraction', JSON.stringify({ verification: { id: 1.5 } })],
    ['id negative', JSON.stringify({ verification: { id: -1 } })],
    ['id an object', JSON.stringify({ verification: { id: { x: 1 } } })],
    ['id that could be a NIK', JSON.stringify({ verification: { id: `v-${NIK}` } })],
    ['id a NIK as a number', JSON.stringify({ verification: { id: Number(NIK) } })],
  ])('%s: IdmetaProtocolError', (_name, text) => {
    const error = thrown(() => parseCreateVerificationResponse(201, text));
    expect(error).toBeInstanceOf(IdmetaProtocolError);
    expect((error as IdmetaProtocolError).httpStatus).toBe(201);
  });

  it('property: any string in, a safe id or IdmetaProtocolError out', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            expect(parseCreateVerificationResponse(200, text)).toMatch(
              /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
            );
          } catch (error) {
            if (!(error instanceof IdmetaProtocolError)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
