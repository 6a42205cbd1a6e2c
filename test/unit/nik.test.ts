import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCalendarDate } from '../../lambda/core/dates.ts';
import { ValidationError } from '../../lambda/core/errors.ts';
import { maskNik, nikAgreesWithBirthDate, nikBirthDate, nikIssues } from '../../lambda/core/nik.ts';
import { parseVerificationBody } from '../../lambda/core/request.ts';
import { DEFAULT_SELFIE_LIMITS } from '../../lambda/core/selfie.ts';
import type { CalendarDate } from '../../lambda/core/types.ts';

// 3201 01 120693 0001: Kabupaten Bogor, a man born 12-06-1993.
const MALE_NIK = '3201011206930001';
// The same birth date for a woman: day 12 + 40 = 52.
const FEMALE_NIK = '3201015206930002';
const NOW = Date.parse('2025-01-01T00:00:00Z');

const pad2 = (value: number): string => String(value).padStart(2, '0');

const validNik = fc
  .record({
    area: fc.tuple(
      fc.integer({ min: 1, max: 9 }),
      fc.array(fc.integer({ min: 0, max: 9 }), {
        minLength: 5,
        maxLength: 5,
      }),
    ),
    birth: fc.date({
      min: new Date('1900-01-01T00:00:00Z'),
      max: new Date('2024-12-31T00:00:00Z'),
      noInvalidDate: true,
    }),
    female: fc.boolean(),
    serial: fc.integer({ min: 1, max: 9999 }),
  })
  .map(({ area, birth, female, serial }) => {
    const dob: CalendarDate = {
      year: birth.getUTCFullYear(),
      month: birth.getUTCMonth() + 1,
      day: birth.getUTCDate(),
    };
    const day = dob.day + (female ? 40 : 0);
    const nik = `${area[0]}${area[1].join('')}${pad2(day)}${pad2(dob.month)}${pad2(dob.year % 100)}${String(serial).padStart(4, '0')}`;
    return { nik, dob, female };
  });

const parse = (nik: string, dob: CalendarDate) =>
  parseVerificationBody(
    { nik, name: 'Budi', date_of_birth: formatCalendarDate(dob, 'DD-MM-YYYY') },
    { limits: DEFAULT_SELFIE_LIMITS, now: NOW },
  );

describe('nikIssues', () => {
  it('finds nothing wrong with a well-formed NIK, male or female', () => {
    // Act
    const issues = [nikIssues(MALE_NIK), nikIssues(FEMALE_NIK)];

    // Assess
    expect(issues).toEqual([[], []]);
  });

  it.each([
    ['320101120693001', 'too short'],
    ['32010112069300011', 'too long'],
    ['320101120693000A', 'a letter'],
    ['3201-01-120693-01', 'separators'],
    ['３２０１０１１２０６９３０００１', 'full-width digits'],
    ['', 'empty'],
  ])('reports %j (%s) as not 16 digits, and nothing else', (nik) => {
    // Act
    const issues = nikIssues(nik);

    // Assess
    expect(issues).toEqual(['must be exactly 16 digits']);
  });

  it.each([
    ['0201011206930001', /start with 0/],
    ['3201010006930001', /birth day/],
    ['3201013206930001', /birth day/],
    ['3201014006930001', /birth day/],
    ['3201017206930001', /birth day/],
    ['3201011200930001', /birth month/],
    ['3201011213930001', /birth month/],
    ['3201013102930001', /not a real date/],
    ['3201017102930001', /not a real date/],
    ['3201013104930001', /not a real date/],
    ['3201011206930000', /serial/],
  ])('reports the structural fault in %s', (nik, expected) => {
    // Act
    const issues = nikIssues(nik);

    // Assess
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(expected);
  });

  it('accepts 29-02 for any two-digit year, since the NIK does not say the century', () => {
    // Prepare: 29-02-23 cannot be 2023 but is read without a century; women's day 69.
    const niks = ['3201012902230001', '3201016902000001'];

    // Act
    const issues = niks.map(nikIssues);

    // Assess
    expect(issues).toEqual([[], []]);
  });

  it('reports every fault of a NIK at once', () => {
    // Act
    const issues = nikIssues('0201013213930000');

    // Assess
    expect(issues).toHaveLength(4);
  });

  it('never repeats the NIK or its digits in a message', () => {
    // Prepare
    const nik = '0201019899930000';

    // Act
    const issues = nikIssues(nik);

    // Assess
    for (const message of issues) {
      expect(message).not.toContain(nik);
      expect(message).not.toMatch(/98|99|93/);
    }
  });
});

describe('nikBirthDate', () => {
  it('reads the birth date of a man as written', () => {
    // Act
    const birth = nikBirthDate(MALE_NIK);

    // Assess
    expect(birth).toEqual({ day: 12, month: 6, yy: 93, female: false });
  });

  it('takes 40 off the day of a woman', () => {
    // Act
    const birth = nikBirthDate(FEMALE_NIK);

    // Assess
    expect(birth).toEqual({ day: 12, month: 6, yy: 93, female: true });
  });

  it('refuses something that is not 16 digits rather than inventing a date', () => {
    // Act / Assess
    expect(() => nikBirthDate('12345')).toThrow(ValidationError);
  });
});

describe('nikAgreesWithBirthDate', () => {
  it('agrees with the date of birth for men and for women', () => {
    // Prepare
    const dob = { year: 1993, month: 6, day: 12 };

    // Act / Assess
    expect(nikAgreesWithBirthDate(MALE_NIK, dob)).toBe(true);
    expect(nikAgreesWithBirthDate(FEMALE_NIK, dob)).toBe(true);
  });

  it.each([
    [{ year: 1993, month: 6, day: 13 }, 'another day'],
    [{ year: 1993, month: 7, day: 12 }, 'another month'],
    [{ year: 1994, month: 6, day: 12 }, 'another year'],
    [{ year: 1993, month: 6, day: 52 }, 'the encoded day of a woman is not a day'],
  ])('disagrees with %o (%s)', (dob) => {
    // Act / Assess
    expect(nikAgreesWithBirthDate(FEMALE_NIK, dob)).toBe(false);
  });

  it('compares only the last two digits of the year: the NIK has no century', () => {
    // Act / Assess
    expect(nikAgreesWithBirthDate('3201011206930001', { year: 1893, month: 6, day: 12 })).toBe(
      true,
    );
    expect(nikAgreesWithBirthDate('3201011206000001', { year: 2000, month: 6, day: 12 })).toBe(
      true,
    );
  });
});

describe('maskNik', () => {
  it('keeps the first four and last four digits', () => {
    // Act / Assess
    expect(maskNik(MALE_NIK)).toBe('3201********0001');
  });

  it('hides everything of something that is not a NIK', () => {
    // Act / Assess
    expect(maskNik('12345')).toBe('****************');
    expect(maskNik('32010112069300011')).toBe('****************');
  });
});

describe('NIK properties', () => {
  it('a NIK built from a real birth date is valid and passes with that date', () => {
    fc.assert(
      fc.property(validNik, ({ nik, dob, female }) => {
        // Act
        const issues = nikIssues(nik);
        const parsed = parse(nik, dob);

        // Assess
        expect(issues).toEqual([]);
        expect(nikBirthDate(nik).female).toBe(female);
        expect(parsed.identity).toEqual({ nik, name: 'Budi', dateOfBirth: dob });
      }),
    );
  });

  it('a NIK with one date digit changed never passes silently with the original date', () => {
    // A different digit always changes DD, MM or YY, so the NIK is malformed or encodes another
    // date, with one exception: the tens digit of the day moved by exactly 4 (0<->4, 1<->5,
    // 2<->6, 3<->7) keeps the same day and flips the sex. The request carries no sex, so that
    // NIK agrees with the date and only Dukcapil can refuse it.
    fc.assert(
      fc.property(
        validNik,
        fc.integer({ min: 6, max: 11 }),
        fc.integer({ min: 1, max: 9 }),
        ({ nik, dob }, index, shift) => {
          // Prepare
          const original = Number(nik[index]);
          const changed = (original + shift) % 10;
          const corrupted = `${nik.slice(0, index)}${changed}${nik.slice(index + 1)}`;
          const sexFlip = index === 6 && changed === (original + 4) % 8;

          // Act
          let outcome: string;
          try {
            parse(corrupted, dob);
            outcome = 'accepted';
          } catch (error) {
            outcome = error instanceof ValidationError ? error.code : 'other';
          }

          // Assess
          if (sexFlip) {
            expect(outcome).toBe('accepted');
            expect(nikBirthDate(corrupted).female).toBe(!nikBirthDate(nik).female);
          } else {
            expect(['INVALID_REQUEST', 'NIK_DOB_MISMATCH']).toContain(outcome);
            expect(outcome === 'INVALID_REQUEST').toBe(nikIssues(corrupted).length > 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
