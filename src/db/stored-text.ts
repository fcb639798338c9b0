/**
 * Text as PostgreSQL will take it. A caller's typed turn, a model's reply or a tool argument may
 * carry characters PostgreSQL refuses (NUL in text and json, a lone UTF-16 surrogate in json), and
 * one of them would lose the whole row: a call's record with its transcript, a booking's notes.
 * So the text and jsonb columns of the schema clean what they store, in the column itself
 * (drizzle's toDriver): no write path can forget, and lookups compare cleaned with cleaned.
 */
import { customType } from 'drizzle-orm/pg-core';

/**
 * Control characters other than tab and newline (C0, DEL, C1: invisible on a page, NUL refused
 * outright), and surrogates without their other half. No `u` flag: surrogates are matched as the
 * UTF-16 code units they are.
 */
const UNSTORABLE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

export function storableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, '') : text;
}

/** The JSON text of `value` with every string in it, keys included, made storable. */
export function storableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'string') return storableText(item);
    if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const keys = Object.keys(item);
      if (keys.some((key) => storableText(key) !== key)) {
        return Object.fromEntries(keys.map((key) => [storableText(key), (item as Record<string, unknown>)[key]]));
      }
    }
    return item;
  });
}

/** A text column that stores its value cleaned. */
export const cleanText = customType<{ data: string; driverData: string }>({
  dataType: () => 'text',
  toDriver: (value) => storableText(value),
});

/** A jsonb column that stores its value cleaned; reads like drizzle's own jsonb. */
export const cleanJsonb = customType<{ data: unknown; driverData: string }>({
  dataType: () => 'jsonb',
  toDriver: (value) => storableJson(value),
  fromDriver: (value) => {
    // pg and PGlite hand jsonb over parsed; a driver that does not gets it parsed here.
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
});
