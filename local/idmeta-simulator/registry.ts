/**
 * The simulator's stand-in for Dukcapil: a handful of fictional people (registry.json) and
 * their synthetic reference selfies (images/). Deliberately independent of `lambda/`: the
 * simulator plays an outside system, so it must not share (and mirror the bugs of) the
 * client's own NIK or date parsing.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type SimGender = 'LAKI-LAKI' | 'PEREMPUAN';

export interface SimReferenceImage {
  /** File name under `images/`. */
  file: string;
  /** Hex SHA-256 of the file's bytes: how the simulator recognises the selfie. */
  sha256: string;
  /** `selfie_image_percentage` answered for this selfie, as IDmeta sends it (a string). */
  score: string;
}

export interface SimPerson {
  nik: string;
  name: string;
  /** `DD-MM-YYYY`. */
  date_of_birth: string;
  place_of_birth: string;
  gender: SimGender;
  /** `risk_rating` answered for this person: `LOW` unless stated. */
  risk_rating: string;
  /** What this person is for, in a few words (README and test names). */
  scenario?: string;
  reference_images: SimReferenceImage[];
}

export interface SimRegistry {
  people: SimPerson[];
}

export interface SimDate {
  year: number;
  month: number;
  day: number;
}

export interface ReferenceSelfie {
  bytes: Buffer;
  mime: 'image/jpeg' | 'image/png';
  /** Absolute file path. */
  path: string;
  /** `data:<mime>;base64,...`, ready for a request body. */
  dataUri: string;
  /** The score the simulator answers for this selfie with its owner's NIK. */
  score: string;
}

export const REGISTRY_URL = new URL('./registry.json', import.meta.url);
export const IMAGES_URL = new URL('./images/', import.meta.url);

/** `DD-MM-YYYY` or `YYYY-MM-DD`, a real calendar date; null for anything else. */
export function parseSimDate(value: string): SimDate | null {
  const match = /^(\d{2})-(\d{2})-(\d{4})$/.exec(value) ?? /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (match === null) return null;
  const [first, second, third] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date =
    value.indexOf('-') === 2
      ? { year: third, month: second, day: first }
      : { year: first, month: second, day: third };
  const check = new Date(Date.UTC(date.year, date.month - 1, date.day));
  const real =
    check.getUTCFullYear() === date.year &&
    check.getUTCMonth() === date.month - 1 &&
    check.getUTCDate() === date.day;
  return real ? date : null;
}

export const sameDate = (a: SimDate, b: SimDate): boolean =>
  a.year === b.year && a.month === b.month && a.day === b.day;

/**
 * Why a person's NIK is not structurally valid (`PP RR DD DDMMYY SSSS`, first digit not 0,
 * DDMMYY = birth date with day + 40 for women, serial not 0000), or null when it is.
 */
export function nikProblem(person: SimPerson): string | null {
  if (!/^[1-9]\d{15}$/.test(person.nik)) return 'must be 16 digits, not starting with 0';
  if (person.nik.endsWith('0000')) return 'serial must not be 0000';
  const dob = parseSimDate(person.date_of_birth);
  if (dob === null) return 'date_of_birth is not a DD-MM-YYYY date';
  const day = dob.day + (person.gender === 'PEREMPUAN' ? 40 : 0);
  const expected = [day, dob.month, dob.year % 100].map((n) => String(n).padStart(2, '0')).join('');
  return person.nik.slice(6, 12) === expected
    ? null
    : `embedded birth date ${person.nik.slice(6, 12)} should be ${expected}`;
}

const isString = (value: unknown): value is string => typeof value === 'string';

/** Checks the shape and the NIKs; throws with the offending entry named. */
export function parseRegistry(json: unknown): SimRegistry {
  const people = (json as { people?: unknown } | null)?.people;
  if (!Array.isArray(people) || people.length === 0) {
    throw new Error('simulator registry: "people" must be a non-empty array');
  }
  people.forEach((entry: Partial<Record<keyof SimPerson, unknown>>, index) => {
    const where = `simulator registry: people[${index}]`;
    for (const key of ['nik', 'name', 'date_of_birth', 'place_of_birth', 'risk_rating'] as const) {
      if (!isString(entry[key])) throw new Error(`${where}.${key} must be a string`);
    }
    if (entry.gender !== 'LAKI-LAKI' && entry.gender !== 'PEREMPUAN') {
      throw new Error(`${where}.gender must be LAKI-LAKI or PEREMPUAN`);
    }
    const images = entry.reference_images;
    if (!Array.isArray(images)) throw new Error(`${where}.reference_images must be an array`);
    images.forEach((image: Partial<Record<keyof SimReferenceImage, unknown>>, i) => {
      if (
        !isString(image.file) ||
        !isString(image.sha256) ||
        !/^[0-9a-f]{64}$/.test(image.sha256)
      ) {
        throw new Error(`${where}.reference_images[${i}] needs a file and a hex sha256`);
      }
      if (!isString(image.score) || !/^\d{1,3}(\.\d+)?$/.test(image.score)) {
        throw new Error(`${where}.reference_images[${i}].score must be a decimal string`);
      }
    });
    const problem = nikProblem(entry as SimPerson);
    if (problem !== null) throw new Error(`${where}.nik: ${problem}`);
  });
  return json as SimRegistry;
}

/** The shipped registry (or another file of the same shape), validated. */
export function loadRegistry(source: URL | string = REGISTRY_URL): SimRegistry {
  return parseRegistry(JSON.parse(readFileSync(source, 'utf8')));
}

/**
 * A reference selfie of a registry person, by index in the registry or by NIK, for tests and
 * curl experiments: sending it with that person's NIK scores the registry's `score`.
 */
export function referenceSelfie(
  personIndexOrNik: number | string,
  imageIndex = 0,
  registry: SimRegistry = loadRegistry(),
): ReferenceSelfie {
  const person =
    typeof personIndexOrNik === 'number'
      ? registry.people[personIndexOrNik]
      : registry.people.find((candidate) => candidate.nik === personIndexOrNik);
  if (person === undefined) throw new Error('simulator registry: no such person');
  const image = person.reference_images[imageIndex];
  if (image === undefined) throw new Error('simulator registry: no such reference image');
  const url = new URL(image.file, IMAGES_URL);
  const bytes = readFileSync(url);
  const mime = image.file.toLowerCase().endsWith('.png') ? 'image/png' : 'image/jpeg';
  return {
    bytes,
    mime,
    path: fileURLToPath(url),
    dataUri: `data:${mime};base64,${bytes.toString('base64')}`,
    score: image.score,
  };
}
