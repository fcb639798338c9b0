/**
 * Cars in a caller's words, read only against the curated list in vehicle-models.ts: "2016
 * Civic", "a Ford F-150", "my wife's 2020 RAV4". A model names its make ("Camry" is a Toyota);
 * a word that is not on the list is never taken for a make or a model.
 */
import { VEHICLE_MAKES } from './vehicle-models.js';
import type { MakeEntry, ModelEntry } from './vehicle-models.js';

/** What the caller said about a car; any part may be missing ("the 2019 one", "a Camry"). */
export interface VehicleMention {
  year?: number;
  make?: string;
  model?: string;
}

/** A car on the caller's account, as the tools describe it. */
export interface KnownVehicle {
  id: string;
  year: number;
  make: string;
  model: string;
}

/** The oldest model year taken; older is almost surely a mishearing. */
const OLDEST_YEAR = 1950;

interface Phrase {
  tokens: string[];
}

interface CompiledModel {
  make: MakeEntry;
  model: ModelEntry;
  phrases: Phrase[];
}

interface CompiledMake {
  make: MakeEntry;
  phrases: Phrase[];
}

const COMPILED_MAKES: CompiledMake[] = VEHICLE_MAKES.map((make) => ({
  make,
  phrases: [make.name, ...(make.aliases ?? [])].map((text) => ({ tokens: tokenize(text) })),
}));

const COMPILED_MODELS: CompiledModel[] = VEHICLE_MAKES.flatMap((make) =>
  make.models.map((model) => ({
    make,
    model,
    phrases: [model.name, ...(model.aliases ?? [])].map((text) => ({ tokens: tokenize(text) })),
  })),
);

/**
 * Words for matching: lower case, anything but letters and digits is a space, and letters and
 * digits that touch are split ("F-150", "f150" and "f 150" all read "f 150"; "RAV4" reads "rav 4").
 */
export function tokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[’']s\b/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/([a-z])(\d)/g, '$1 $2')
    .replace(/(\d)([a-z])/g, '$1 $2')
    .trim()
    .split(' ')
    .filter((token) => token !== '');
}

interface Hit<T> {
  entry: T;
  start: number;
  end: number;
}

function findPhrases<T extends { phrases: Phrase[] }>(tokens: readonly string[], entries: readonly T[]): Array<Hit<T>> {
  const hits: Array<Hit<T>> = [];
  for (const entry of entries) {
    for (const phrase of entry.phrases) {
      const n = phrase.tokens.length;
      for (let i = 0; i + n <= tokens.length; i++) {
        if (phrase.tokens.every((token, k) => tokens[i + k] === token)) hits.push({ entry, start: i, end: i + n });
      }
    }
  }
  return hits;
}

function isYearToken(token: string | undefined, latestYear: number): boolean {
  if (token === undefined || !/^\d{4}$/.test(token)) return false;
  const year = Number(token);
  return year >= OLDEST_YEAR && year <= latestYear;
}

/**
 * The car named in a sentence, or undefined when it names none. `latestYear` is next year (the
 * newest model year on sale). A year alone counts only with a word that points at a car
 * ("the 2019 one"); a make or model from the list always counts.
 */
export function parseVehicle(text: string, latestYear: number): VehicleMention | undefined {
  const tokens = tokenize(text);
  const makeHits = findPhrases(tokens, COMPILED_MAKES);
  const isYearAt = (i: number): boolean => isYearToken(tokens[i], latestYear);

  const modelHits = findPhrases(tokens, COMPILED_MODELS).filter((hit) => {
    const after = hit.entry.model.after ?? 'any';
    const madeBefore = makeHits.some((m) => m.end === hit.start && m.entry.make === hit.entry.make);
    if (after === 'make') return madeBefore;
    if (after === 'make_or_year') return madeBefore || isYearAt(hit.start - 1);
    return true;
  });
  // The longest model wins ("Grand Cherokee" over "Cherokee"), then the one whose make was said.
  modelHits.sort(
    (a, b) =>
      b.end - b.start - (a.end - a.start) ||
      Number(makeHits.some((m) => m.entry.make === b.entry.make)) - Number(makeHits.some((m) => m.entry.make === a.entry.make)),
  );
  const model = modelHits[0];
  // The longest make phrase wins too ("dodge ram" is a Ram, not a Dodge).
  const make = [...makeHits].sort((a, b) => b.end - b.start - (a.end - a.start))[0];

  const mention: VehicleMention = {};
  if (model !== undefined) {
    // "a Honda Camry" names two cars at once: keep only the make rather than guess the model.
    const clash = makeHits.find((m) => m.end === model.start && m.entry.make !== model.entry.make);
    if (clash !== undefined && !makeHits.some((m) => m.end === model.start && m.entry.make === model.entry.make)) {
      mention.make = clash.entry.make.name;
    } else {
      mention.make = model.entry.make.name;
      mention.model = model.entry.model.name;
    }
  } else if (make !== undefined) {
    mention.make = make.entry.make.name;
  }

  const around = model ?? make;
  const yearIndex = around === undefined ? -1 : yearNear(tokens, around.start, latestYear);
  if (yearIndex >= 0) mention.year = Number(tokens[yearIndex]);
  else if (around === undefined) {
    const lone = tokens.findIndex((token, i) => isYearToken(token, latestYear) && /^(one|car|truck|van|suv|model)$/.test(tokens[i + 1] ?? ''));
    if (lone >= 0) mention.year = Number(tokens[lone]);
  }
  return Object.keys(mention).length === 0 ? undefined : mention;
}

/** The model year said just before the car ("2019 Honda Civic") or right after it ("Civic 2019"). */
function yearNear(tokens: readonly string[], start: number, latestYear: number): number {
  for (let i = start - 1; i >= Math.max(0, start - 3); i--) if (isYearToken(tokens[i], latestYear)) return i;
  for (let i = start + 1; i < Math.min(tokens.length, start + 5); i++) if (isYearToken(tokens[i], latestYear)) return i;
  return -1;
}

/** True when the mention has all three parts, so it can be read back and saved. */
export function isComplete(mention: VehicleMention | undefined): mention is Required<VehicleMention> {
  return mention?.year !== undefined && mention.make !== undefined && mention.model !== undefined;
}

/** A new mention laid over an earlier one: "a Camry" then "2017" is a 2017 Toyota Camry. */
export function mergeMention(earlier: VehicleMention | undefined, later: VehicleMention): VehicleMention {
  const merged: VehicleMention = { ...earlier };
  if (later.year !== undefined) merged.year = later.year;
  if (later.make !== undefined) {
    // Another make throws away a model that belongs to the old one.
    if (merged.make !== later.make) delete merged.model;
    merged.make = later.make;
  }
  if (later.model !== undefined) merged.model = later.model;
  return merged;
}

/** "2017 Toyota Camry". */
export function vehicleName(vehicle: VehicleMention): string {
  return [vehicle.year, vehicle.make, vehicle.model].filter((part) => part !== undefined).join(' ');
}

/**
 * Which of the caller's cars an answer names: "the civic", "the 2019 one", "the Ford". Matched
 * against the cars on file (their own spelling, plus the list's aliases for their make), so a car
 * the list does not know can still be picked. Undefined unless exactly one car fits.
 */
export function pickVehicle<T extends KnownVehicle>(text: string, vehicles: readonly T[], latestYear: number): T | undefined {
  const tokens = tokenize(text);
  const said = parseVehicle(text, latestYear);
  const contains = (phrase: string): boolean => {
    const wanted = tokenize(phrase);
    return wanted.length > 0 && tokens.some((_t, i) => wanted.every((w, k) => tokens[i + k] === w));
  };
  const scored = vehicles.map((vehicle) => {
    const makeEntry = VEHICLE_MAKES.find((m) => m.name.toLowerCase() === vehicle.make.toLowerCase());
    const makeSaid = contains(vehicle.make) || (makeEntry?.aliases ?? []).some(contains) || said?.make === makeEntry?.name;
    const modelSaid = contains(vehicle.model);
    const yearSaid = tokens.includes(String(vehicle.year));
    const contradicted =
      (said?.year !== undefined && said.year !== vehicle.year) ||
      (said?.make !== undefined && said.make.toLowerCase() !== vehicle.make.toLowerCase() && !makeSaid) ||
      (said?.model !== undefined && tokenize(said.model).join(' ') !== tokenize(vehicle.model).join(' ') && !modelSaid);
    return { vehicle, score: contradicted ? 0 : Number(makeSaid) + 2 * Number(modelSaid) + Number(yearSaid) };
  });
  const best = Math.max(0, ...scored.map((s) => s.score));
  if (best === 0) return undefined;
  const top = scored.filter((s) => s.score === best);
  return top.length === 1 ? top[0]!.vehicle : undefined;
}
