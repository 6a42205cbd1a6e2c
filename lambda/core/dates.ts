/**
 * Calendar dates without a time or a zone. A date of birth is a day on a calendar, not an
 * instant: going through `Date` would shift it by the host's zone, so everything here works on
 * plain `{ year, month, day }` numbers.
 */
import type { CalendarDate } from './types.ts';

export type CalendarDateFormat = 'DD-MM-YYYY' | 'YYYY-MM-DD';

const DAY_FIRST = /^(\d{2})-(\d{2})-(\d{4})$/;
const YEAR_FIRST = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Dukcapil and IDmeta are Indonesian systems and keep dates in Western Indonesia Time
 * (Asia/Jakarta, UTC+7, no daylight saving, so a fixed offset is exact). Judging "today" in
 * UTC would call a date that has already begun in Jakarta a future one for seven hours a day.
 */
const REGISTRY_UTC_OFFSET_MS = 7 * 60 * 60 * 1000;

export const isLeapYear = (year: number): boolean =>
  (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** Days in `month` (1-12) of `year`, Gregorian rules; 0 for a month that does not exist. */
export function daysInMonth(year: number, month: number): number {
  const days = DAYS_IN_MONTH[month - 1];
  if (days === undefined) return 0;
  return month === 2 && isLeapYear(year) ? 29 : days;
}

export const isRealCalendarDate = ({ year, month, day }: CalendarDate): boolean =>
  Number.isInteger(year) &&
  Number.isInteger(month) &&
  Number.isInteger(day) &&
  year >= 1 &&
  year <= 9999 &&
  day >= 1 &&
  day <= daysInMonth(year, month);

/**
 * Parses exactly `DD-MM-YYYY` or `YYYY-MM-DD` (ASCII digits, no surrounding spaces) into a date
 * that exists on the Gregorian calendar; anything else is `null`.
 */
export function parseCalendarDate(text: string): CalendarDate | null {
  let date: CalendarDate;
  const dayFirst = DAY_FIRST.exec(text);
  if (dayFirst) {
    date = { day: Number(dayFirst[1]), month: Number(dayFirst[2]), year: Number(dayFirst[3]) };
  } else {
    const yearFirst = YEAR_FIRST.exec(text);
    if (!yearFirst) return null;
    date = { year: Number(yearFirst[1]), month: Number(yearFirst[2]), day: Number(yearFirst[3]) };
  }
  return isRealCalendarDate(date) ? date : null;
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

export function formatCalendarDate(date: CalendarDate, format: CalendarDateFormat): string {
  const day = pad(date.day, 2);
  const month = pad(date.month, 2);
  const year = pad(date.year, 4);
  return format === 'DD-MM-YYYY' ? `${day}-${month}-${year}` : `${year}-${month}-${day}`;
}

/** Negative when `a` is earlier than `b`, zero when equal, positive when later. */
export function compareCalendarDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

/** The calendar date in Jakarta (the registry's frame) at the instant `epochMs`. */
export function calendarDateOf(epochMs: number): CalendarDate {
  const shifted = new Date(epochMs + REGISTRY_UTC_OFFSET_MS);
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
  };
}
