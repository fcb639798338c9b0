/**
 * One process per PGlite data directory. PGlite is PostgreSQL in WASM without the postmaster and
 * its lock: two processes on one directory each keep their own pages in memory and overwrite each
 * other's files (`npm run db:seed` beside a running server printed "seeded" and the rows were gone).
 *
 * Every opener creates a ticket in `<dataDir>/.lock/` named after its pid and start time (exclusive
 * create), then lists the tickets: another live holder means it removes its own and refuses,
 * naming the holder. Tickets of processes that are gone (kill -9, a crash, a power cut) are removed
 * by whoever finds them: their pid no longer runs, or runs another process since (pid reuse, told
 * apart by the start time in /proc/<pid>/stat). Tickets rather than one lock file taken over when
 * stale: removing a dead process's ticket is harmless whoever does it, and however many at once,
 * so there is no takeover for two starters to race on. Each opener lists only after its own ticket
 * exists, so of two openers at least the later one sees the other: two can never both proceed (two
 * starting at the same instant may both refuse; starting again settles it).
 *
 * Limit: pids are per machine and per pid namespace; a directory shared by two containers or hosts
 * is not guarded (use PostgreSQL for that).
 */
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const LOCK_DIR_NAME = '.lock';

export class DataDirInUseError extends Error {
  constructor(
    message: string,
    readonly holderPid: number,
  ) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** Removes this process's ticket; safe to call more than once. */
  release(): void;
}

interface Ticket {
  pid: number;
  /** `s<ticks>`: start time from /proc (checkable by others); `m<epoch ms>`: estimate, where /proc is missing. */
  start: string;
}

const TICKET_NAME = /^([1-9][0-9]{0,9})\.([sm][0-9]{1,20})$/;

/** Takes `dataDir` for this process, or throws DataDirInUseError naming the process that has it. */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const lockDir = join(dataDir, LOCK_DIR_NAME);
  mkdirSync(lockDir, { recursive: true });
  const me = currentProcess();
  const ownName = ticketName(me);
  const ownPath = join(lockDir, ownName);
  const record = { pid: me.pid, start: me.start, command: ownCommand(), since: new Date().toISOString() };
  try {
    writeFileSync(ownPath, `${JSON.stringify(record)}\n`, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new DataDirInUseError(
      `DATA_DIR ${resolve(dataDir)} is already open in this process (pid ${me.pid}): close the first database before opening it again.`,
      me.pid,
    );
  }

  for (const name of readdirSync(lockDir)) {
    if (name === ownName) continue;
    const ticket = parseTicketName(name);
    if (ticket === undefined) continue;
    if (isRunning(ticket, me)) {
      removeQuietly(ownPath);
      throw new DataDirInUseError(
        `DATA_DIR ${resolve(dataDir)} is in use by another process: pid ${ticket.pid} (${commandOf(ticket.pid, join(lockDir, name))}). ` +
          'Only one process can open an embedded PGlite data directory: stop the server first (or that process), ' +
          'or point DATABASE_URL at PostgreSQL to share a database between processes.',
        ticket.pid,
      );
    }
    // Left by a process that is gone: harmless to remove, even if another opener removes it too.
    removeQuietly(join(lockDir, name));
  }

  const onExit = (): void => removeQuietly(ownPath);
  process.on('exit', onExit);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      removeQuietly(ownPath);
    },
  };
}

function ticketName(ticket: Ticket): string {
  return `${ticket.pid}.${ticket.start}`;
}

function parseTicketName(name: string): Ticket | undefined {
  const match = TICKET_NAME.exec(name);
  return match === null ? undefined : { pid: Number(match[1]), start: match[2]! };
}

let self: Ticket | undefined;

function currentProcess(): Ticket {
  self ??= { pid: process.pid, start: procStart(process.pid) ?? `m${Math.round(Date.now() - process.uptime() * 1000)}` };
  return self;
}

/** Whether the process that wrote `ticket` still runs. */
function isRunning(ticket: Ticket, me: Ticket): boolean {
  // Our pid with another start time: an earlier process that had our pid, long gone.
  if (ticket.pid === me.pid) return ticket.start === me.start;
  try {
    process.kill(ticket.pid, 0);
  } catch (error) {
    // EPERM: it runs, as another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  if (ticket.start.startsWith('s')) {
    const now = procStart(ticket.pid);
    if (now !== undefined) return now === ticket.start;
  }
  // Alive and not checkable further: assume it is the holder rather than risk two openers.
  return true;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), where there is /proc. */
function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19];
    return ticks !== undefined && /^[0-9]+$/.test(ticks) ? `s${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** The holder's command line: live from /proc, else as its ticket recorded it. */
function commandOf(pid: number, ticketPath: string): string {
  let command: string | undefined;
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    try {
      command = (JSON.parse(readFileSync(ticketPath, 'utf8')) as { command?: unknown }).command as string | undefined;
    } catch {
      command = undefined;
    }
  }
  return typeof command === 'string' && command !== '' ? command.slice(0, 300) : 'command unknown';
}

function ownCommand(): string {
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)].join(' ').slice(0, 300);
}

/** Best effort: gone already is fine, and a ticket we cannot remove must not mask why we are here. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // ENOENT: someone else removed it first.
  }
}
