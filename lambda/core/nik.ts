/**
 * The NIK (Nomor Induk Kependudukan): 16 digits `PP RR DD DDMMYY SSSS` = province,
 * regency/city, district, birth date (women: day + 40), serial. These checks are structural
 * only: a NIK that passes is not proof that Dukcapil knows it, but one that fails certainly is
 * not worth a paid IDmeta call. Messages name digit positions, never the digits themselves.
 */
import { ValidationError } from './errors.ts';
import type { CalendarDate } from './types.ts';

export const NIK_PATTERN = /^\d{16}$/;
const FEMALE_DAY_OFFSET = 40;

export interface NikBirthDate {
  /** 1-31, with the +40 for women already removed. */
  day: number;
  month: number;
  /** The last two digits of the year of birth. */
  yy: number;
  female: boolean;
}

const twoDigits = (nik: string, start: number): number => Number(nik.slice(start, start + 2));

/**
 * The structure of a 16-digit NIK, one pattern per rule so the OpenAPI document states each
 * (`nikSchema` checks them one by one). The day is `DD` or `DD + 40` for women. 29 February is
 * allowed for every YY: the NIK holds only two digits of the year, so its century is unknown
 * (the full date of birth is checked against it separately).
 */
export const NIK_RULES: ReadonlyArray<{ pattern: RegExp; message: string }> = [
  { pattern: /^[1-9]/, message: 'must not start with 0 (no province code starts with 0)' },
  {
    pattern: /^\d{6}(?:0[1-9]|[12]\d|3[01]|4[1-9]|[56]\d|7[01])/,
    message: 'birth day (digits 7-8) must be 01-31, or 41-71 for women',
  },
  { pattern: /^\d{8}(?:0[1-9]|1[0-2])/, message: 'birth month (digits 9-10) must be 01-12' },
  {
    // Only a day and a month each in range can be "not a real date": 30-31 February, 31 April.
    pattern: /^\d{6}(?![37][01]02|[37]1(?:0[469]|11))/,
    message: 'birth date (digits 7-12) is not a real date: that month has fewer days',
  },
  { pattern: /^\d{12}(?!0000)/, message: 'serial number (digits 13-16) must not be 0000' },
];

/** Every structural problem of `nik`, as human messages; empty when it is well formed. */
export function nikIssues(nik: string): string[] {
  if (!NIK_PATTERN.test(nik)) return ['must be exactly 16 digits'];
  return NIK_RULES.filter((rule) => !rule.pattern.test(nik)).map((rule) => rule.message);
}

/** The birth date a well-formed NIK encodes. Throws a `ValidationError` unless 16 digits. */
export function nikBirthDate(nik: string): NikBirthDate {
  if (!NIK_PATTERN.test(nik)) {
    throw new ValidationError('nik must be exactly 16 digits', [
      { path: 'nik', message: 'must be exactly 16 digits' },
    ]);
  }
  const encodedDay = twoDigits(nik, 6);
  const female = encodedDay > FEMALE_DAY_OFFSET;
  return {
    day: female ? encodedDay - FEMALE_DAY_OFFSET : encodedDay,
    month: twoDigits(nik, 8),
    yy: twoDigits(nik, 10),
    female,
  };
}

/**
 * Whether the NIK's embedded date is `dob`. The sex is not compared (the request carries none),
 * so a NIK that differs from the true one only by the +40 still agrees: Dukcapil will tell.
 */
export function nikAgreesWithBirthDate(nik: string, dob: CalendarDate): boolean {
  const embedded = nikBirthDate(nik);
  return embedded.day === dob.day && embedded.month === dob.month && embedded.yy === dob.year % 100;
}

/** `3201********0001`: enough to recognise a record, not enough to use the NIK. */
export function maskNik(nik: string): string {
  // Anything but a well-formed NIK is masked entirely: a short string would otherwise leak.
  if (!NIK_PATTERN.test(nik)) return '*'.repeat(16);
  return `${nik.slice(0, 4)}${'*'.repeat(8)}${nik.slice(-4)}`;
}

/** 16 digits, each pair at most one separator apart: a NIK, whole or grouped (3201.0112.0693.0001). */
const NIK_LIKE_DIGITS = /\d(?:[_.:-]?\d){15}/;

/**
 * Whether a text that is not a NIK field could still carry one (an id, a code from IDmeta): such a
 * text is logged or stored in clear, so it is refused or dropped.
 */
export const containsNikLikeDigits = (text: string): boolean => NIK_LIKE_DIGITS.test(text);
