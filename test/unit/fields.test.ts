import { describe, expect, it } from 'vitest';
import {
  andThen,
  boolean,
  failed,
  maxLength,
  minLength,
  ok,
  oneOf,
  optional,
  pattern,
  rewrite,
  test,
  text,
  trim,
} from '../../lambda/core/fields.ts';

describe('text fields', () => {
  it('runs every check in order and lists each failure, until one that aborts', () => {
    // Prepare
    const field = text([
      pattern(/^a/, 'must start with a'),
      pattern(/b$/, 'must end with b'),
      pattern(/^\w+$/, 'must be a word', true),
      test(() => false, 'always fails'),
    ]);

    // Act / Assess
    expect(field.parse('xy')).toEqual(
      failed('must start with a', 'must end with b', 'always fails'),
    );
    expect(field.parse('x y')).toEqual(
      failed('must start with a', 'must end with b', 'must be a word'),
    );
    expect(field.parse('ab')).toEqual(failed('always fails'));
  });

  it('rewrites the value for the checks after the rewrite, and returns it rewritten', () => {
    // Prepare
    const field = text([
      trim,
      rewrite((value) => value.toUpperCase()),
      pattern(/^[A-Z]+$/, 'upper case only'),
    ]);

    // Act / Assess
    expect(field.parse('  abc ')).toEqual(ok('ABC'));
  });

  it('measures lengths in code points: a surrogate pair is one, a lone surrogate one too', () => {
    // Prepare
    const field = text([minLength(2, 'too short'), maxLength(3, 'too long')]);

    // Act / Assess
    expect(field.parse('😀😀😀').ok).toBe(true);
    expect(field.parse('😀😀😀😀')).toEqual(failed('too long'));
    expect(field.parse('😀')).toEqual(failed('too short'));
    expect(field.parse('\ud83d\ud83d\ud83d').ok).toBe(true);
    expect(field.parse('\ud83d\ud83d\ud83d\ud83d')).toEqual(failed('too long'));
  });

  it('says what is wrong with a value that is not text, in its own words or the default', () => {
    // Prepare
    const plain = text([pattern(/x/, 'never run on a number')]);
    const worded = text([], { notText: () => 'must be a note' });

    // Act / Assess
    expect(plain.parse(undefined)).toEqual(failed('is required'));
    expect(plain.parse(42)).toEqual(failed('must be a string'));
    expect(plain.parse(['x'])).toEqual(failed('must be a string'));
    expect(worded.parse(null)).toEqual(failed('must be a note'));
  });
});

describe('optional, choices, booleans and steps after a field', () => {
  it('takes an absent value as valid, but not null', () => {
    const field = optional(text([]));

    expect(field.parse(undefined)).toEqual(ok(undefined));
    expect(field.parse(null)).toEqual(failed('must be a string'));
    expect(field.optional).toBe(true);
  });

  it('accepts only the listed choices, and only true or false', () => {
    const choice = oneOf(['a', 'b'], (input) => (input === undefined ? 'missing' : 'not a or b'));
    const flag = boolean('must be true or false');

    expect(choice.parse('b')).toEqual(ok('b'));
    expect(choice.parse(undefined)).toEqual(failed('missing'));
    expect(choice.parse('toString')).toEqual(failed('not a or b'));
    expect(flag.parse(false)).toEqual(ok(false));
    expect(flag.parse('true')).toEqual(failed('must be true or false'));
  });

  it('runs the next step only on a valid value, and the document keeps the first field', () => {
    // Prepare
    let steps = 0;
    const base = text([pattern(/^\d+$/, 'digits only')], { description: 'digits' });
    const field = andThen(base, (value) => {
      steps += 1;
      return value === '0' ? failed('must not be 0') : ok(Number(value));
    });

    // Act / Assess
    expect(field.parse('x')).toEqual(failed('digits only'));
    expect(field.parse('0')).toEqual(failed('must not be 0'));
    expect(field.parse('12')).toEqual(ok(12));
    expect(steps).toBe(2);
    expect(field.spec).toBe(base.spec);
  });
});

it('exports nothing named `then`: the module must not read as a promise when imported', async () => {
  // A `then` export makes `await import()` call it and never settle (vitest hung on it once).
  const loaded = await import('../../lambda/core/fields.ts');

  expect(Object.keys(loaded)).not.toContain('then');
});
