import { expect } from 'vitest';
import { ValidationError } from '../../lambda/core/errors.ts';

/** Runs `act` and returns what it threw (failing the test when it throws nothing). */
export function thrownBy(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, none was thrown');
}

export function validationFailure(act: () => unknown): ValidationError {
  const error = thrownBy(act);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}
