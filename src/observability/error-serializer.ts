/**
 * How errors are written to the logs (pino's `err` serializer). Like pino's own it keeps the
 * error's type, message, stack and fields, and follows its causes; unlike it, a database error
 * is reduced to what identifies the failure and never carries the data of the query. drizzle's
 * DrizzleQueryError puts the query's parameters in its message and `params`, PGlite's errors
 * carry `query` and `params`, and PostgreSQL's `detail` and `where` quote the refused values: a
 * transcript, a caller's name, a phone number.
 */

/** Fields of a PostgreSQL error (pg, PGlite) that name the failure without quoting data. */
const DATABASE_FIELDS = ['code', 'severity', 'constraint', 'table', 'column', 'schema', 'dataType', 'routine'] as const;

const SQLSTATE = /^[0-9A-Z]{5}$/;

type ErrorLike = { message: string } & Record<string, unknown>;

export function serializeError(value: unknown): unknown {
  if (!isErrorLike(value)) return value;
  return describe(value, new Set());
}

function describe(err: ErrorLike, seen: Set<unknown>): Record<string, unknown> {
  seen.add(err);
  const database = isDatabaseError(err);
  const message = safeMessage(err, database);
  const view: Record<string, unknown> = { type: typeName(err), message };
  let stack = safeStack(err, message);

  if (database) {
    for (const field of DATABASE_FIELDS) {
      const value = err[field];
      if (typeof value === 'string' || typeof value === 'number') view[field] = value;
    }
  } else {
    for (const key in err) {
      if (key in view || key === 'stack' || key === 'cause') continue;
      const value = err[key];
      if (key === 'errors' && Array.isArray(value)) {
        view.aggregateErrors = value.map((item) => (isErrorLike(item) && !seen.has(item) ? describe(item, seen) : item));
      } else if (isErrorLike(value)) {
        if (!seen.has(value)) view[key] = describe(value, seen);
      } else {
        view[key] = value;
      }
    }
  }

  // As pino does: the causes' messages and stacks are appended, so one line tells the story.
  const cause = err.cause;
  if (isErrorLike(cause) && !seen.has(cause)) {
    const inner = describe(cause, seen);
    view.message = `${message}: ${String(inner.message)}`;
    if (stack !== undefined && typeof inner.stack === 'string') stack = `${stack}\ncaused by: ${inner.stack}`;
    // drizzle's wrapper has no code of its own: the driver's is what an operator searches for.
    if (database) {
      for (const field of DATABASE_FIELDS) if (view[field] === undefined && inner[field] !== undefined) view[field] = inner[field];
    }
  }
  if (stack !== undefined) view.stack = stack;
  return view;
}

function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** drizzle's query errors, PGlite's errors (both carry the query) and PostgreSQL's (SQLSTATE). */
function isDatabaseError(err: ErrorLike): boolean {
  if (typeof err.query === 'string' || 'params' in err) return true;
  return typeof err.code === 'string' && SQLSTATE.test(err.code) && typeof err.severity === 'string';
}

function typeName(err: ErrorLike): string {
  const ctor = (err as { constructor?: unknown }).constructor;
  if (err instanceof Error && typeof ctor === 'function' && ctor.name !== '') return ctor.name;
  return typeof err.name === 'string' ? err.name : 'Error';
}

/**
 * drizzle's "Failed query: <sql>\nparams: <values>" without the values (the SQL has placeholders
 * only), wherever it was copied: into another error's message, into a plain object by code that
 * summarises errors itself, or into a log line's message (fastify logs a route's error so).
 */
export function withoutQueryParams(text: string): string {
  const query = text.indexOf('Failed query: ');
  const params = query < 0 ? -1 : text.indexOf('\nparams: ', query);
  return params < 0 ? text : text.slice(0, params);
}

function safeMessage(err: ErrorLike, database: boolean): string {
  let message = withoutQueryParams(err.message);
  if (database) {
    // PostgreSQL quotes a refused value: `invalid input syntax for type uuid: "..."`,
    // `value "..." is out of range for type integer`.
    message = message
      .replace(/: "[\s\S]*"$/, ': "[value]"')
      .replace(/\bvalue "[\s\S]*?" is out of range/g, 'value "[value]" is out of range');
  }
  return message;
}

/** The stack with the original message (its first line) replaced by the safe one. */
function safeStack(err: ErrorLike, message: string): string | undefined {
  const stack = err.stack;
  if (typeof stack !== 'string') return undefined;
  if (message === err.message) return stack;
  const at = stack.indexOf(err.message);
  return at < 0 ? undefined : `${stack.slice(0, at)}${message}${stack.slice(at + err.message.length)}`;
}
