/**
 * The system of record. Times are timestamptz (UTC instants); the shop's zone is applied only
 * when times are computed or spoken. The exclusion constraint that makes double booking
 * impossible cannot be expressed in drizzle-kit, so it lives in a custom migration
 * (drizzle/0001_*.sql) and is documented next to the table below. Every text and jsonb column
 * stores its value cleaned of what PostgreSQL refuses (stored-text.ts).
 */
import { sql } from 'drizzle-orm';
import {
  check,
  foreignKey,
  index,
  integer,
  pgEnum,
  pgTable,
  smallint,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { cleanJsonb, cleanText } from './stored-text.js';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () =>
  timestamp('updated_at', { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());

export const customers = pgTable(
  'customers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** E.164, the caller id the phone network verified; the key a caller is recognised by. */
    phone: cleanText('phone').notNull().unique(),
    firstName: cleanText('first_name').notNull(),
    lastName: cleanText('last_name').notNull(),
    email: cleanText('email'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check('customers_phone_e164', sql`${t.phone} ~ '^\\+[1-9][0-9]{6,14}$'`)],
);

export const vehicles = pgTable(
  'vehicles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'cascade' }),
    year: smallint('year').notNull(),
    make: cleanText('make').notNull(),
    model: cleanText('model').notNull(),
    vin: cleanText('vin'),
    mileage: integer('mileage'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('vehicles_customer_idx').on(t.customerId),
    // Lets appointments reference (vehicle, customer) together, so the database itself refuses a
    // booking for a car that belongs to somebody else.
    unique('vehicles_id_customer_unique').on(t.id, t.customerId),
    unique('vehicles_vin_unique').on(t.vin),
    check('vehicles_year_range', sql`${t.year} BETWEEN 1900 AND 2100`),
    check('vehicles_mileage_nonnegative', sql`${t.mileage} IS NULL OR ${t.mileage} >= 0`),
  ],
);

export const appointmentStatus = pgEnum('appointment_status', ['scheduled', 'cancelled', 'completed', 'no_show']);

/** Whether the calendar reflects this row yet; `pending` rows are picked up by the reconciler. */
export const calendarSyncState = pgEnum('calendar_sync_state', ['pending', 'synced']);

/**
 * Active appointments (scheduled or completed) in the same bay may not overlap: enforced by
 * `appointments_no_overlap`, an EXCLUDE USING gist constraint over (bay, tstzrange(starts_at,
 * ends_at)) added in a custom migration (drizzle/0001_*.sql). Nor may one vehicle's, whatever their
 * bays: `appointments_vehicle_no_overlap` over (vehicle_id, tstzrange), drizzle/0004_*.sql. Cancelling
 * (or marking no-show) frees the time.
 */
export const appointments = pgTable(
  'appointments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    customerId: uuid('customer_id')
      .notNull()
      .references(() => customers.id, { onDelete: 'restrict' }),
    vehicleId: uuid('vehicle_id').notNull(),
    serviceType: cleanText('service_type').notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    /** Service bay, 1 to SERVICE_BAYS (or the number of GOOGLE_BAY_CALENDAR_IDS). */
    bay: smallint('bay').notNull().default(1),
    status: appointmentStatus('status').notNull().default('scheduled'),
    cancellationReason: cleanText('cancellation_reason'),
    notes: cleanText('notes'),
    calendarEventId: cleanText('calendar_event_id'),
    /**
     * The calendar the event lives in (before its first write: the one it goes to), so a change of
     * bay or of configuration updates or deletes it where it is; null on the local calendar and for
     * rows from before bays, whose events are in the shop calendar (GOOGLE_CALENDAR_ID).
     */
    calendarId: cleanText('calendar_id'),
    /**
     * Bumped by every change the calendar must reflect. The reconciler marks a row synced only if
     * the version it projected is still current, so a reschedule during a slow sync is not lost.
     */
    syncVersion: integer('sync_version').notNull().default(1),
    calendarSyncState: calendarSyncState('calendar_sync_state').notNull().default('pending'),
    calendarSyncAttempts: integer('calendar_sync_attempts').notNull().default(0),
    calendarSyncNextAt: timestamp('calendar_sync_next_at', { withTimezone: true }),
    calendarSyncError: cleanText('calendar_sync_error'),
    /**
     * Set when staff moved this appointment's event in the calendar to a time the database refused
     * (it overlaps another active appointment in the bay): the move is not applied, the event is
     * left for staff, and the flag clears once the calendar and the database agree again.
     */
    calendarConflictAt: timestamp('calendar_conflict_at', { withTimezone: true }),
    calendarConflictDetail: cleanText('calendar_conflict_detail'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey({
      name: 'appointments_vehicle_owner_fk',
      columns: [t.vehicleId, t.customerId],
      foreignColumns: [vehicles.id, vehicles.customerId],
    }).onDelete('restrict'),
    index('appointments_customer_idx').on(t.customerId, t.startsAt),
    index('appointments_starts_at_idx').on(t.startsAt),
    index('appointments_sync_pending_idx')
      .on(t.calendarSyncNextAt)
      .where(sql`${t.calendarSyncState} = 'pending'`),
    check('appointments_time_order', sql`${t.endsAt} > ${t.startsAt}`),
    index('appointments_calendar_conflict_idx')
      .on(t.calendarConflictAt)
      .where(sql`${t.calendarConflictAt} IS NOT NULL`),
  ],
);

/**
 * One row per calendar whose changes the agent follows (staff moving or deleting its events):
 * the incremental sync token, the lease that lets one instance at a time sync it, and the push
 * channel Google notifies about changes. In the database, not in memory, because every instance
 * shares the calendar: whichever instance receives a notification finds the channel here, and a
 * token saved by one instance is where the next instance's sync carries on.
 */
export const calendarFeeds = pgTable('calendar_feeds', {
  calendarId: cleanText('calendar_id').primaryKey(),
  /** Google's nextSyncToken from the last complete listing; null means the next sync lists everything. */
  syncToken: cleanText('sync_token'),
  lastSyncedAt: timestamp('last_synced_at', { withTimezone: true }),
  /** The instance syncing it now, and until when its claim keeps the others away. */
  leaseOwner: cleanText('lease_owner'),
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  /** Bumped by every change notification; a sync that started before the last bump runs again. */
  syncRequests: integer('sync_requests').notNull().default(0),
  syncedRequests: integer('synced_requests').notNull().default(0),
  channelId: cleanText('channel_id').unique(),
  channelResourceId: cleanText('channel_resource_id'),
  /** SHA-256 of the channel token Google echoes in X-Goog-Channel-Token; the token itself is never stored. */
  channelTokenDigest: cleanText('channel_token_digest'),
  channelExpiresAt: timestamp('channel_expires_at', { withTimezone: true }),
  /** The instance that opened the channel; it stops the channel when it shuts down. */
  channelOwner: cleanText('channel_owner'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * Results of side-effecting requests, keyed by the caller's idempotency key (e.g. the LLM's tool
 * call id), so a retried request returns the first result instead of acting twice. In the
 * database, not in memory, because any instance may receive the retry.
 */
export const idempotencyKeys = pgTable('idempotency_keys', {
  key: cleanText('key').primaryKey(),
  operation: cleanText('operation').notNull(),
  result: cleanJsonb('result').notNull(),
  createdAt: createdAt(),
});

/**
 * Twilio stream tokens that have started a media stream: a token starts at most one stream,
 * whichever instance it reaches, because claiming one is an insert that only the first instance
 * wins. Keyed by a digest of the token, never the token. Rows are swept a while after they expire
 * (an expired token is refused before it gets here), so the table holds only recent calls.
 */
export const usedStreamTokens = pgTable(
  'used_stream_tokens',
  {
    tokenId: cleanText('token_id').primaryKey(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('used_stream_tokens_expires_at_idx').on(t.expiresAt)],
);

export const callOutcome = pgEnum('call_outcome', [
  'booked',
  'cancelled',
  'rescheduled',
  'transferred',
  'completed',
  'abandoned',
  'error',
]);

export const callRecords = pgTable(
  'call_records',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The transport's id for the call (Twilio CallSid, or a generated id for browser calls). */
    callId: cleanText('call_id').notNull().unique(),
    callerNumber: cleanText('caller_number'),
    transport: cleanText('transport').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    outcome: callOutcome('outcome'),
    transcript: cleanJsonb('transcript').notNull().default([]),
    toolCalls: cleanJsonb('tool_calls').notNull().default([]),
    latencies: cleanJsonb('latencies').notNull().default([]),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('call_records_started_at_idx').on(t.startedAt)],
);

export const schema = {
  customers,
  vehicles,
  appointments,
  idempotencyKeys,
  usedStreamTokens,
  callRecords,
  calendarFeeds,
  appointmentStatus,
  calendarSyncState,
  callOutcome,
};

export type Customer = typeof customers.$inferSelect;
export type NewCustomer = typeof customers.$inferInsert;
export type Vehicle = typeof vehicles.$inferSelect;
export type NewVehicle = typeof vehicles.$inferInsert;
export type Appointment = typeof appointments.$inferSelect;
export type NewAppointment = typeof appointments.$inferInsert;
export type CallRecord = typeof callRecords.$inferSelect;
export type CalendarFeed = typeof calendarFeeds.$inferSelect;
