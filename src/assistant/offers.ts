/**
 * Which open times to offer for what the caller asked ("friday afternoon", "around 3", "the
 * earliest", "what else?"), and how to say them. The times come only from get_available_slots
 * results: the shop's rules decide what is open, this module only picks among it.
 */
import { formatClock } from '../scheduling/time.js';
import { spokenList } from '../tools/spoken.js';
import type { DaySlots, SlotInfo } from './dialogue.js';
import { partWindow } from './spoken-when.js';
import type { ClockTime, DayPart, TimeWish } from './spoken-when.js';

const OFFER_COUNT = 3;

export type Choice =
  /** The caller named a time that is open: no need to offer anything. */
  | { kind: 'chosen'; slot: SlotInfo }
  /** Times to read out; `suggested` is the one a plain "yes" takes. */
  | { kind: 'offer'; offered: SlotInfo[]; suggested: SlotInfo | undefined; text: string }
  /** Nothing left that fits (every time already offered). */
  | { kind: 'nothing'; text: string };

export interface OfferRequest {
  /** The days looked at, in order; at least one has slots. */
  days: readonly DaySlots[];
  wish: TimeWish | undefined;
  more: 'next' | 'later' | 'earlier' | undefined;
  /** Starts already offered on this call. */
  seen: ReadonlySet<string>;
  /** "this week" when the days are a range the caller named. */
  rangeLabel: string | undefined;
}

export function chooseSlots(request: OfferRequest): Choice {
  const { days, wish } = request;
  const all = days.flatMap((d) => d.slots);
  const first = days.find((d) => d.slots.length > 0) ?? days[0]!;
  const label = (date: string): string => days.find((d) => d.date === date)?.dateLabel ?? date;
  const where = request.rangeLabel ?? `on ${first.dateLabel}`;

  if (request.more !== undefined) return moreSlots(request, all, label);

  switch (wish?.kind) {
    case undefined: {
      if (days.filter((d) => d.slots.length > 0).length > 1) {
        // A range ("this week"): the first opening of each of the first few days.
        const offered = days.flatMap((d) => d.slots.slice(0, 1)).slice(0, OFFER_COUNT);
        return offer(offered, undefined, `${capitalize(where)} I have ${spokenList(offered.map((s) => `${label(s.date)} at ${clock(s)}`))} open.`);
      }
      const offered = first.slots.slice(0, OFFER_COUNT);
      const later = first.slots.length > OFFER_COUNT ? ', and later times too' : '';
      return offer(offered, undefined, `On ${first.dateLabel} I have ${times(offered)} open${later}.`);
    }
    case 'at': {
      const exact = all.find((s) => s.minutes === minutesOf(wish.time));
      if (exact !== undefined) return { kind: 'chosen', slot: exact };
      const offered = nearest(first.slots, minutesOf(wish.time));
      return offer(
        offered,
        undefined,
        `Sorry, ${clockText(wish.time)} isn't available ${where}. The closest times I have are ${times(offered)}.`,
      );
    }
    case 'around': {
      const offered = nearest(first.slots, minutesOf(wish.time));
      return offer(offered, undefined, `On ${first.dateLabel} around ${clockText(wish.time)} I have ${times(offered)} open.`);
    }
    case 'either': {
      const open = wish.times.flatMap((time) => first.slots.filter((s) => s.minutes === minutesOf(time)));
      if (open.length === 1) return { kind: 'chosen', slot: open[0]! };
      if (open.length > 1) return offer(open, undefined, `On ${first.dateLabel} I have both ${spokenList(open.map(clock))} open.`);
      const offered = nearest(first.slots, minutesOf(wish.times[0]!));
      const asked = wish.times.map(clockText);
      return offer(
        offered,
        undefined,
        `Sorry, neither ${asked.join(' nor ')} is open on ${first.dateLabel}. The closest times I have are ${times(offered)}.`,
      );
    }
    case 'part': {
      const window = partWindow(wish.part);
      const inside = first.slots.filter((s) => s.minutes >= window.from && s.minutes < window.to);
      if (inside.length === 0) {
        const offered = first.slots.slice(0, OFFER_COUNT);
        return offer(
          offered,
          undefined,
          `I don't have anything ${PART_WORDS[wish.part]} on ${first.dateLabel}. The times I do have that day are ${times(offered)}.`,
        );
      }
      const offered = inside.slice(0, OFFER_COUNT);
      const later = inside.length > OFFER_COUNT ? ', and later times too' : '';
      return offer(offered, undefined, `On ${first.dateLabel} ${PART_WORDS[wish.part]} I have ${times(offered)} open${later}.`);
    }
    case 'earliest': {
      const offered = all.slice(0, OFFER_COUNT);
      const [soonest, ...rest] = offered;
      const after = rest.length === 0 ? '' : ` After that I have ${spokenList(rest.map((s) => (s.date === soonest!.date ? clock(s) : `${label(s.date)} at ${clock(s)}`)))}.`;
      return offer(offered, soonest, `The earliest I have is ${label(soonest!.date)} at ${clock(soonest!)}.${after}`);
    }
    case 'latest': {
      const offered = first.slots.slice(-OFFER_COUNT);
      const latest = offered[offered.length - 1]!;
      const before = offered.length > 1 ? ` Before that I have ${times(offered.slice(0, -1))}.` : '';
      return offer(offered, latest, `The latest I have on ${first.dateLabel} is ${clock(latest)}.${before}`);
    }
  }
}

/** "What else?": times not offered yet, after (or before) the ones already offered. */
function moreSlots(request: OfferRequest, all: readonly SlotInfo[], label: (date: string) => string): Choice {
  const { wish, seen } = request;
  // "What else?" stays within the part of the day asked for; "earlier" and "later" leave it.
  const window = wish?.kind === 'part' && request.more === 'next' ? partWindow(wish.part) : undefined;
  const pool = all.filter((s) => window === undefined || (s.minutes >= window.from && s.minutes < window.to));
  const seenInPool = pool.filter((s) => seen.has(s.start));
  const unseen = pool.filter((s) => !seen.has(s.start));
  const lastSeen = seenInPool[seenInPool.length - 1];
  const firstSeen = seenInPool[0];
  let offered: SlotInfo[];
  if (request.more === 'earlier') {
    offered = unseen.filter((s) => firstSeen === undefined || s.start < firstSeen.start).slice(-OFFER_COUNT);
  } else {
    const after = unseen.filter((s) => lastSeen === undefined || s.start > lastSeen.start);
    offered = (after.length > 0 || request.more === 'later' ? after : unseen).slice(0, OFFER_COUNT);
  }
  const days = new Set(pool.map((s) => s.date));
  const where =
    request.rangeLabel ?? `on ${label([...days][0] ?? request.days[0]!.date)}${window !== undefined && wish?.kind === 'part' ? ` ${PART_WORDS[wish.part]}` : ''}`;
  if (offered.length === 0) {
    const direction = request.more === 'earlier' ? 'earlier ' : request.more === 'later' ? 'later ' : '';
    return { kind: 'nothing', text: `I don't have anything ${direction}${where} besides the times I mentioned.` };
  }
  const sameDay = offered.every((s) => s.date === offered[0]!.date);
  const spoken = sameDay ? times(offered) : spokenList(offered.map((s) => `${label(s.date)} at ${clock(s)}`));
  return offer(offered, undefined, `${capitalize(where)} I also have ${spoken}.`);
}

const PART_WORDS: Record<DayPart, string> = {
  morning: 'in the morning',
  afternoon: 'in the afternoon',
  after_lunch: 'after lunch',
  evening: 'in the evening',
};

function offer(offered: SlotInfo[], suggested: SlotInfo | undefined, text: string): Choice {
  return { kind: 'offer', offered, suggested, text };
}

/** The few slots nearest a wanted time, in time order. */
function nearest(slots: readonly SlotInfo[], wanted: number): SlotInfo[] {
  return [...slots]
    .sort((a, b) => Math.abs(a.minutes - wanted) - Math.abs(b.minutes - wanted) || a.minutes - b.minutes)
    .slice(0, OFFER_COUNT)
    .sort((a, b) => a.minutes - b.minutes);
}

function minutesOf(time: ClockTime): number {
  return time.hour * 60 + time.minute;
}

export function clock(slot: SlotInfo): string {
  return formatClock(Math.floor(slot.minutes / 60), slot.minutes % 60);
}

function clockText(time: ClockTime): string {
  return formatClock(time.hour, time.minute);
}

function times(slots: readonly SlotInfo[]): string {
  return spokenList(slots.map(clock));
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
