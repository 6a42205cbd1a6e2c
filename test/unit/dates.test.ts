import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  calendarDateOf,
  compareCalendarDates,
  daysInMonth,
  formatCalendarDate,
  isLeapYear,
  parseCalendarDate,
} from '../../lambda/core/dates.ts';

describe('parseCalendarDate', () => {
  it('reads DD-MM-YYYY and YYYY-MM-DD as the same date', () => {
    // Prepare
    const dayFirst = '12-06-1993';
    const yearFirst = '1993-06-12';

    // Act
    const fromDayFirst = parseCalendarDate(dayFirst);
    const fromYearFirst = parseCalendarDate(yearFirst);

    // Assess
    expect(fromDayFirst).toEqual({ year: 1993, month: 6, day: 12 });
    expect(fromYearFirst).toEqual(fromDayFirst);
  });

  it.each([
    ['29-02-2000', { year: 2000, month: 2, day: 29 }],
    ['2024-02-29', { year: 2024, month: 2, day: 29 }],
    ['31-12-1999', { year: 1999, month: 12, day: 31 }],
    ['01-01-1900', { year: 1900, month: 1, day: 1 }],
  ])('accepts the real date %s, leap days in leap years included', (text, expected) => {
    // Act
    const date = parseCalendarDate(text);

    // Assess
    expect(date).toEqual(expected);
  });

  it.each([
    ['29-02-1900', 'a century not divisible by 400 is not a leap year'],
    ['29-02-2023', 'an ordinary year has no 29 February'],
    ['31-04-2020', 'April has 30 days'],
    ['00-01-2020', 'there is no day 0'],
    ['32-01-2020', 'there is no day 32'],
    ['01-13-2020', 'there is no month 13'],
    ['01-00-2020', 'there is no month 0'],
    ['01-01-0000', 'there is no year 0'],
  ])('refuses %s because %s', (text) => {
    // Act
    const date = parseCalendarDate(text);

    // Assess
    expect(date).toBeNull();
  });

  it.each([
    '1-6-1993',
    '12/06/1993',
    '12-06-93',
    '1993-6-12',
    ' 12-06-1993',
    '12-06-1993 ',
    '12-06-1993T00:00',
    '19930612',
    '١٢-٠٦-١٩٩٣',
    '',
  ])('refuses %j: only the two exact formats are dates', (text) => {
    // Act
    const date = parseCalendarDate(text);

    // Assess
    expect(date).toBeNull();
  });

  it('agrees with the Gregorian calendar on every day 1-31 of every month of 1896-2104', () => {
    // Prepare: Date.UTC rolls an impossible day over into the next month.
    const disagreements: string[] = [];

    // Act
    for (let year = 1896; year <= 2104; year++) {
      for (let month = 1; month <= 12; month++) {
        for (let day = 1; day <= 31; day++) {
          const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day;
          const text = `${String(year)}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
          if ((parseCalendarDate(text) !== null) !== real) disagreements.push(text);
        }
      }
    }

    // Assess
    expect(disagreements).toEqual([]);
  });
});

describe('isLeapYear and daysInMonth', () => {
  it('follow the Gregorian leap rules, 1900 and 2000 included', () => {
    // Act / Assess
    expect([1900, 2000, 2023, 2024, 2100, 2400].map(isLeapYear)).toEqual([
      false,
      true,
      false,
      true,
      false,
      true,
    ]);
    expect(daysInMonth(2000, 2)).toBe(29);
    expect(daysInMonth(1900, 2)).toBe(28);
    expect(daysInMonth(2023, 4)).toBe(30);
    expect(daysInMonth(2023, 13)).toBe(0);
  });
});

describe('formatCalendarDate', () => {
  it('writes both wire formats with zero padding', () => {
    // Prepare
    const date = { year: 1993, month: 6, day: 2 };

    // Act
    const dayFirst = formatCalendarDate(date, 'DD-MM-YYYY');
    const yearFirst = formatCalendarDate(date, 'YYYY-MM-DD');

    // Assess
    expect(dayFirst).toBe('02-06-1993');
    expect(yearFirst).toBe('1993-06-02');
  });

  it('round-trips through parseCalendarDate in either format', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1900-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        fc.constantFrom('DD-MM-YYYY' as const, 'YYYY-MM-DD' as const),
        (instant, format) => {
          // Prepare
          const date = {
            year: instant.getUTCFullYear(),
            month: instant.getUTCMonth() + 1,
            day: instant.getUTCDate(),
          };

          // Act
          const parsed = parseCalendarDate(formatCalendarDate(date, format));

          // Assess
          expect(parsed).toEqual(date);
        },
      ),
    );
  });
});

describe('compareCalendarDates', () => {
  it('orders by year, then month, then day', () => {
    // Prepare
    const earlier = { year: 1993, month: 12, day: 31 };
    const later = { year: 1994, month: 1, day: 1 };

    // Act / Assess
    expect(compareCalendarDates(earlier, later)).toBeLessThan(0);
    expect(compareCalendarDates(later, earlier)).toBeGreaterThan(0);
    expect(compareCalendarDates(earlier, { ...earlier })).toBe(0);
    expect(
      compareCalendarDates({ year: 1993, month: 2, day: 1 }, { year: 1993, month: 1, day: 31 }),
    ).toBeGreaterThan(0);
  });
});

describe('calendarDateOf', () => {
  it('gives the date in Jakarta (UTC+7), which is a day ahead of UTC from 17:00 UTC', () => {
    // Prepare
    const lateUtcEvening = Date.parse('2024-02-28T17:00:00Z');
    const justBefore = Date.parse('2024-02-28T16:59:59.999Z');

    // Act
    const jakartaDate = calendarDateOf(lateUtcEvening);
    const stillSameDay = calendarDateOf(justBefore);

    // Assess
    expect(jakartaDate).toEqual({ year: 2024, month: 2, day: 29 });
    expect(stillSameDay).toEqual({ year: 2024, month: 2, day: 28 });
  });

  it('crosses the year boundary in Jakarta time', () => {
    // Act
    const date = calendarDateOf(Date.parse('2023-12-31T18:30:00Z'));

    // Assess
    expect(date).toEqual({ year: 2024, month: 1, day: 1 });
  });
});
