/**
 * Google push channels on the calendars the agent follows: one channel per calendar, recorded in
 * the database so that whichever instance a notification reaches can check it, and opened or
 * renewed only by the instance holding that calendar's sync lease (so several instances never open
 * several channels). The channel token is random per channel and only its SHA-256 is stored; a
 * notification is believed when its token hashes to it (compared in constant time).
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { CalendarCallOptions, CalendarChangeFeed } from '../calendar/calendar.js';
import { clearChannel, feedByChannel, feedsWithChannelsOwnedBy, recordChannel } from '../db/calendar-sync-queries.js';
import type { Db } from '../db/client.js';
import type { CalendarFeed } from '../db/schema.js';

function newChannelToken(): string {
  return randomBytes(32).toString('base64url');
}

export function channelTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Digests are compared, not tokens: equal lengths whatever was presented, and nothing to time. */
function channelTokenMatches(presented: string | undefined, digest: string | null): boolean {
  if (presented === undefined || digest === null || !/^[0-9a-f]{64}$/.test(digest)) return false;
  return timingSafeEqual(Buffer.from(channelTokenDigest(presented), 'hex'), Buffer.from(digest, 'hex'));
}

export type NotificationVerdict =
  | { kind: 'unknown' }
  | { kind: 'forbidden'; calendarId: string }
  | { kind: 'known'; calendarId: string };

/**
 * Whether a notification comes from a channel of ours. A channel id we never recorded (an old
 * channel after a renewal, or a guess) is unknown, as is a known id with another resource id; a
 * known channel without its token is forbidden.
 */
export async function verifyNotification(
  db: Db,
  notification: { channelId: string; token: string | undefined; resourceId: string | undefined },
): Promise<NotificationVerdict> {
  const feed = await feedByChannel(db, notification.channelId);
  if (feed === undefined) return { kind: 'unknown' };
  if (feed.channelResourceId !== null && notification.resourceId !== feed.channelResourceId) return { kind: 'unknown' };
  if (!channelTokenMatches(notification.token, feed.channelTokenDigest)) return { kind: 'forbidden', calendarId: feed.calendarId };
  return { kind: 'known', calendarId: feed.calendarId };
}

export interface ChannelContext {
  db: Db;
  feed: CalendarChangeFeed;
  /** This instance's id: the lease it holds and the owner of the channels it opens. */
  instanceId: string;
  /** https address Google POSTs to. */
  address: string;
  ttlMs?: number | undefined;
  /** A channel expiring sooner than this is replaced now. */
  renewBeforeMs: number;
  callOptions: CalendarCallOptions;
}

export type ChannelOutcome =
  | { kind: 'kept' }
  | { kind: 'opened' | 'renewed'; channelId: string; expiresAt: Date; stopError?: unknown };

/**
 * Makes sure the calendar has a live channel, for a caller holding the calendar's lease. The new
 * channel is recorded before events.watch is called, because Google's first message ('sync') may
 * arrive before watch() returns; if the watch fails, the earlier channel is put back.
 */
export async function maintainChannel(context: ChannelContext, row: CalendarFeed, now: Date): Promise<ChannelOutcome> {
  const { db, instanceId } = context;
  const expiresAt = row.channelExpiresAt?.getTime();
  if (row.channelId !== null && row.channelResourceId !== null && expiresAt !== undefined && expiresAt - now.getTime() > context.renewBeforeMs) {
    return { kind: 'kept' };
  }
  const channelId = randomUUID();
  const token = newChannelToken();
  const digest = channelTokenDigest(token);
  const pending = { channelId, channelResourceId: null, channelTokenDigest: digest, channelExpiresAt: null, channelOwner: instanceId };
  if (!(await recordChannel(db, row.calendarId, instanceId, pending))) throw new Error(`lost the lease on calendar ${row.calendarId}`);
  let opened;
  try {
    opened = await context.feed.watch(row.calendarId, { channelId, address: context.address, token, ttlMs: context.ttlMs }, context.callOptions);
  } catch (error) {
    if (row.channelId !== null && row.channelTokenDigest !== null && row.channelOwner !== null) {
      await recordChannel(db, row.calendarId, instanceId, {
        channelId: row.channelId,
        channelResourceId: row.channelResourceId,
        channelTokenDigest: row.channelTokenDigest,
        channelExpiresAt: row.channelExpiresAt,
        channelOwner: row.channelOwner,
      });
    } else {
      await clearChannel(db, row.calendarId, channelId);
    }
    throw error;
  }
  const recorded = await recordChannel(db, row.calendarId, instanceId, { ...pending, channelResourceId: opened.resourceId, channelExpiresAt: opened.expiresAt });
  if (!recorded) {
    // The lease ran out during the watch. The new holder saw only the pending record, so it opens a
    // channel of its own and stops none: this one and the one it replaces are recorded nowhere, and
    // would notify for their whole lifetime (a week by default) with nobody to stop them.
    await context.feed.stopChannel({ channelId, resourceId: opened.resourceId }, context.callOptions).catch(() => undefined);
    await clearChannel(db, row.calendarId, channelId);
  }
  const outcome: ChannelOutcome = { kind: row.channelId === null ? 'opened' : 'renewed', channelId, expiresAt: opened.expiresAt };
  // The replaced channel would go on notifying (harmlessly: its id is unknown now) until it expires.
  if (row.channelId !== null && row.channelResourceId !== null) {
    try {
      await context.feed.stopChannel({ channelId: row.channelId, resourceId: row.channelResourceId }, context.callOptions);
    } catch (error) {
      outcome.stopError = error;
    }
  }
  if (!recorded) throw new Error(`lost the lease on calendar ${row.calendarId} while opening its channel`);
  return outcome;
}

/**
 * Stops the channels this instance opened and forgets them, so that another instance still
 * running opens a new one on its next sync (channels of other instances are theirs to stop).
 */
export async function stopOwnChannels(
  context: Pick<ChannelContext, 'db' | 'feed' | 'instanceId' | 'callOptions'>,
  onError: (calendarId: string, error: unknown) => void,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const row of await feedsWithChannelsOwnedBy(context.db, context.instanceId)) {
    if (row.channelId === null) continue;
    try {
      if (row.channelResourceId !== null) {
        await context.feed.stopChannel({ channelId: row.channelId, resourceId: row.channelResourceId }, context.callOptions);
      }
      stopped.push(row.calendarId);
    } catch (error) {
      onError(row.calendarId, error);
    }
    // Forgotten even when stopping failed: the channel expires by itself, and a survivor should open its own.
    await clearChannel(context.db, row.calendarId, row.channelId);
  }
  return stopped;
}
