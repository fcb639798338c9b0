/**
 * What the shop does and how long each job blocks the calendar. The LLM passes the caller's words
 * ("brake job", "oil-change"); `resolveService` maps them onto the catalog so durations stay
 * consistent, and keeps the caller's words when nothing matches so the booking still says what they asked.
 */
import { ValidationError } from '../core/errors.js';

export type ServiceId =
  | 'oil_change'
  | 'tire_rotation'
  | 'inspection'
  | 'brake_service'
  | 'battery_replacement'
  | 'wheel_alignment'
  | 'diagnostic'
  | 'transmission_service'
  | 'general_maintenance'
  | 'other';

export interface Service {
  id: ServiceId;
  name: string;
  durationMinutes: number;
}

interface CatalogEntry extends Service {
  /** Normalised texts that mean exactly this entry (checked before any keyword). */
  aliases?: readonly string[];
  /** Whole normalised phrases, or word prefixes ending in '*', any of which picks this entry. */
  keywords: readonly string[];
}

export const DEFAULT_SERVICE_MINUTES = 60;
export const MAX_SERVICE_MINUTES = 8 * 60;

/**
 * Order matters: the first entry with a matching keyword wins, so the specific jobs come before
 * the generic ones ("brake inspection" is brake work; "transmission fluid change" is not an oil change).
 */
const CATALOG: readonly CatalogEntry[] = [
  { id: 'brake_service', name: 'Brake service', durationMinutes: 90, keywords: ['brake*', 'pads', 'rotors'] },
  { id: 'transmission_service', name: 'Transmission service', durationMinutes: 120, keywords: ['transmission*', 'trans fluid', 'gearbox'] },
  { id: 'wheel_alignment', name: 'Wheel alignment', durationMinutes: 60, keywords: ['align*'] },
  { id: 'battery_replacement', name: 'Battery replacement', durationMinutes: 30, keywords: ['batter*'] },
  { id: 'tire_rotation', name: 'Tire rotation', durationMinutes: 30, keywords: ['rotat*', 'tyre rotation', 'tire rotation'] },
  { id: 'oil_change', name: 'Oil change', durationMinutes: 30, keywords: ['oil*', 'lube'] },
  {
    id: 'diagnostic',
    name: 'Diagnostic',
    durationMinutes: 60,
    keywords: ['diagnos*', 'check engine', 'engine light', 'warning light', 'noise', 'noises', 'strange sound', 'troubleshoot*'],
  },
  { id: 'inspection', name: 'Inspection', durationMinutes: 45, keywords: ['inspect*', 'safety check', 'smog', 'emissions'] },
  {
    id: 'general_maintenance',
    name: 'General maintenance',
    durationMinutes: 60,
    // A bare "service" means routine maintenance, but "AC service" must not: those are exact aliases only.
    aliases: ['service', 'servicing', 'full service', 'regular service', 'routine service', 'general service', 'annual service', 'other'],
    keywords: ['maintenance', 'tune up', 'tuneup', 'checkup', 'check up'],
  },
];

export const SERVICE_CATALOG: readonly Service[] = CATALOG.map(({ id, name, durationMinutes }) => ({ id, name, durationMinutes }));

/** A catalog entry for the caller's words, or a generic 60-minute entry named by them. */
export function resolveService(text: string): Service {
  const words = typeof text === 'string' ? text.trim().replace(/\s+/g, ' ').slice(0, 80) : '';
  const normalized = normalize(words);
  if (normalized.length === 0) {
    throw new ValidationError('invalid_service', 'Service type is empty', 'Which service would you like to book?');
  }
  const tokens = normalized.split(' ');
  for (const entry of CATALOG) {
    const exact = [normalize(entry.name), entry.id.replace(/_/g, ' '), ...(entry.aliases ?? [])];
    if (exact.includes(normalized)) return toService(entry);
  }
  for (const entry of CATALOG) {
    if (entry.keywords.some((keyword) => matches(keyword, normalized, tokens))) return toService(entry);
  }
  return { id: 'other', name: words, durationMinutes: DEFAULT_SERVICE_MINUTES };
}

/**
 * Minutes to block for a job: the caller's (or the LLM's) explicit duration when given, else the
 * catalog's. An explicit duration must be a positive multiple of 5 minutes, at most 8 hours.
 */
export function serviceDuration(text: string, requestedMinutes?: number | null): number {
  if (requestedMinutes === undefined || requestedMinutes === null) return resolveService(text).durationMinutes;
  if (
    !Number.isInteger(requestedMinutes) ||
    requestedMinutes <= 0 ||
    requestedMinutes % 5 !== 0 ||
    requestedMinutes > MAX_SERVICE_MINUTES
  ) {
    throw new ValidationError(
      'invalid_duration',
      `Invalid duration ${String(requestedMinutes)} minutes: expected a positive multiple of 5, at most ${MAX_SERVICE_MINUTES}`,
      'That length of appointment is not something we can book. It must be in steps of 5 minutes and at most 8 hours.',
    );
  }
  return requestedMinutes;
}

function toService(entry: CatalogEntry): Service {
  return { id: entry.id, name: entry.name, durationMinutes: entry.durationMinutes };
}

/** Lower case, punctuation and dashes to spaces ("Oil-Change!" -> "oil change"). */
function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

function matches(keyword: string, normalized: string, tokens: readonly string[]): boolean {
  if (keyword.endsWith('*')) {
    const prefix = keyword.slice(0, -1);
    return tokens.some((token) => token.startsWith(prefix));
  }
  return ` ${normalized} `.includes(` ${keyword} `);
}
