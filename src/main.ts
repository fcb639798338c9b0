/**
 * Composition root: the only module that knows the concrete database, cache, calendar, voice
 * vendors and server. `startApp` is exported so tests boot the real thing (pointed at emulators)
 * on an ephemeral port; running this file directly starts it from the environment and wires
 * graceful shutdown to SIGTERM/SIGINT.
 */
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createCache } from './cache/create-cache.js';
import type { Cache } from './cache/cache.js';
import { hasChangeFeed } from './calendar/calendar.js';
import type { CalendarProvider } from './calendar/calendar.js';
import { createGoogleCalendar } from './calendar/google.js';
import { createLocalCalendar } from './calendar/local.js';
import { runPrimary } from './cluster/primary.js';
import { connectToPrimary, isClusterWorker } from './cluster/worker.js';
import { makeUdpBindsExclusive } from './cluster/exclusive-udp.js';
import type { WorkerLink } from './cluster/worker.js';
import { ConfigError, loadConfigFromProcess } from './config.js';
import type { Config } from './config.js';
import { BROWSER_AUDIO, PHONE_AUDIO } from './core/frames.js';
import type { AudioFormat } from './core/frames.js';
import { createCustomerService } from './crm/customer-service.js';
import { pendingSyncCount } from './db/appointment-queries.js';
import { calendarConflicts } from './db/calendar-sync-queries.js';
import { callOutcome, saveCallRecord } from './db/call-records.js';
import { openDatabase } from './db/client.js';
import { DataDirInUseError } from './db/data-dir-lock.js';
import type { Database } from './db/client.js';
import { createStreamTokenLedger } from './db/stream-token-ledger.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { installProcessGuards } from './observability/process-guards.js';
import type { Metrics } from './observability/metrics.js';
import type { Logger } from './observability/logger.js';
import { createCallManager, formatKey } from './pipeline/call-manager.js';
import type { CallManager, CallProviders } from './pipeline/call-manager.js';
import { DEFAULT_PHRASES } from './pipeline/call-session.js';
import { createDeepgramStt } from './providers/deepgram/deepgram-stt.js';
import { createElevenLabsTts, DEFAULT_VOICE_ID as DEFAULT_ELEVENLABS_VOICE } from './providers/elevenlabs/elevenlabs-tts.js';
import { createOfflineAssistant } from './assistant/offline-assistant.js';
import { createEspeakTts, espeakAvailable } from './providers/espeak/espeak-tts.js';
import { createOpenAiLlm } from './providers/openai/openai-llm.js';
import { createSileroVad } from './providers/silero/silero-vad.js';
import type { TtsProvider } from './providers/tts.js';
import { createBookingService } from './scheduling/booking-service.js';
import { createCalendarReconciler } from './scheduling/calendar-reconciler.js';
import { createCalendarSync } from './scheduling/calendar-sync.js';
import type { CalendarSync, CalendarSyncEvent } from './scheduling/calendar-sync.js';
import { SERVICE_CATALOG } from './scheduling/services.js';
import { isLoopbackHost } from './server/admission.js';
import { buildServer } from './server/app.js';
import { calendarNotificationUrl, googleRoutes } from './server/google-routes.js';
import { harnessRoutes } from './server/harness-routes.js';
import { twilioRoutes } from './server/twilio-routes.js';
import { webrtcRoutes } from './server/webrtc-routes.js';
import { ALL_TOOLS } from './tools/index.js';
import { createShopToolPorts, shopInstructions } from './tools/shop-ports.js';
import type { ToolServices } from './tools/tool.js';
import { createTwilioCallControl } from './transports/twilio/call-control.js';

/** Words the STT should favour: the shop's services and the makes callers name. */
const MAKES = ['Toyota', 'Honda', 'Ford', 'Chevrolet', 'Nissan', 'Hyundai', 'Kia', 'Subaru', 'Mazda', 'Volkswagen', 'Tesla', 'Jeep', 'BMW', 'Audi'];

export interface RunningApp {
  app: FastifyInstance;
  database: Database;
  cache: Cache;
  calendar: CalendarProvider;
  calls: CallManager;
  metrics: Metrics;
  /** Which implementation serves each part of the voice pipeline (for logs and the README). */
  voice: { stt: string; llm: string; tts: string; vad: string };
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops taking calls, lets live ones finish (up to the drain time), flushes calendar sync, closes. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The shop's clock; tests fix it so "tomorrow" and open times are known in advance. */
  now?: () => Date;
  /**
   * Set in a cluster worker (WORKERS > 1): call slots and /metrics are the instance's, and the
   * background loops run only if the primary gives this worker that duty.
   */
  worker?: WorkerLink;
}

export async function startApp(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningApp> {
  const worker = options.worker;
  const metrics = createMetrics(worker === undefined ? {} : { worker: worker.name });
  worker?.shareMetrics(metrics.registry);
  const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, maxConnections: config.database.poolSize });
  const closers: Array<() => Promise<void> | void> = [() => database.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        logger.error({ err: error }, 'error during shutdown');
      }
    }
  };
  try {
    if (config.database.migrateOnStart) {
      await database.migrate();
      logger.info({ database: database.kind }, 'database migrations applied');
    }
    const cache = createCache({
      redisUrl: config.redisUrl,
      onError: (error) => logger.warn({ err: error }, 'cache unavailable, bypassing it'),
    });
    closers.push(() => cache.close());

    const calendar = createCalendar(config, metrics);
    const reconciler = createCalendarReconciler({
      db: database.db,
      calendar,
      timeZone: config.business.timeZone,
      shopName: config.shopName,
      intervalMs: config.calendarSyncIntervalMs,
      onError: (appointmentId, error) => logger.warn({ appointmentId, err: error }, 'calendar sync failed; will retry'),
      onPassError: (error) => logger.error({ err: error }, 'calendar reconciler pass failed'),
    });
    metrics.setCalendarBacklogSource(() => pendingSyncCount(database.db));
    // Runs at once: bookings left pending by a previous run (or another instance) are finished.
    if (worker === undefined) reconciler.start();
    closers.push(() => reconciler.stop());
    // Staff edits in the calendar flow back into the database (Google only: the local calendar is the database).
    const calendarSync = createStaffEditSync(config, database, calendar, cache, logger);
    if (calendarSync !== undefined) closers.push(() => calendarSync.stop());
    metrics.setCalendarConflictSource(async () => (await calendarConflicts(database.db, 0)).count);

    const now = options.now ?? (() => new Date());
    const booking = createBookingService({
      db: database.db,
      calendar,
      rules: config.business,
      shopName: config.shopName,
      cache,
      now,
      onSyncDeferred: (appointmentId, error) =>
        logger.warn({ appointmentId, err: error }, 'calendar write deferred to the reconciler'),
    });
    const customers = createCustomerService({
      db: database.db,
      cache,
      timeZone: config.business.timeZone,
      now,
      upcomingAppointments: booking.upcoming,
    });
    const services: ToolServices = { booking, customers, rules: config.business, shopName: config.shopName, now };

    const { providers, names, closeProviders } = createVoiceProviders(config, logger, metrics, now);
    closers.push(closeProviders);
    // The model is loaded once, before the first call; without it barge-in waits for STT words.
    const vad = createSileroVad();
    try {
      await vad.ready();
      providers.vad = vad;
      names.vad = vad.name;
    } catch (error) {
      logger.warn({ err: error }, 'the Silero VAD model could not be loaded: only STT words will stop the agent');
    }
    // Fixed phrases are synthesised once at start-up: the greeting plays without waiting for TTS,
    // and the apology still plays when TTS is what failed.
    const [apologyAudio, greetingAudio] = await Promise.all([
      presynthesize(providers.tts, DEFAULT_PHRASES.apology, [PHONE_AUDIO, BROWSER_AUDIO], logger),
      presynthesize(providers.tts, config.calls.greeting, [PHONE_AUDIO, BROWSER_AUDIO], logger),
    ]);

    const calls = createCallManager({
      providers,
      tools: createShopToolPorts({
        tools: ALL_TOOLS,
        services,
        onError: (callId, info) =>
          logger.error({ callId, tool: info.toolName, toolCallId: info.toolCallId, err: info.error }, 'tool error'),
      }),
      instructions: shopInstructions(services),
      phrases: { ...DEFAULT_PHRASES, greeting: config.calls.greeting },
      timing: {
        idleMs: config.calls.idleMs,
        maxCallMs: config.calls.maxCallMs,
        minInterruptionMs: config.calls.minInterruptionMs,
        playoutStartBufferMs: config.calls.playoutStartBufferMs,
        playoutStartHoldMs: config.calls.playoutStartHoldMs,
      },
      maxConcurrentCalls: config.calls.maxConcurrent,
      ...(worker === undefined ? {} : { slots: worker.slots }),
      keyterms: [...SERVICE_CATALOG.map((s) => s.name.toLowerCase()), ...MAKES],
      apologyAudio,
      greetingAudio,
      onCallStarted: (info) => {
        metrics.callStarted(info.transport);
        logger.info(info, 'call started');
      },
      onCallEnded: async (record, info) => {
        const outcome = callOutcome(record);
        metrics.callEnded(record, info.transport, outcome);
        const endedAt = new Date();
        const startedAt = new Date(endedAt.getTime() - ((record.endedAtMs ?? record.startedAtMs) - record.startedAtMs));
        logger.info(
          { callId: record.callId, transport: info.transport, outcome, endReason: record.endReason, turns: record.turns.length },
          'call ended',
        );
        const saved = await saveCallRecord(database.db, record, info.transport, { startedAt, endedAt });
        if (saved.transcript === 'dropped') {
          logger.warn({ callId: record.callId, code: saved.errorCode }, 'call record refused by the database: stored without its transcript');
        }
      },
      onSessionEvent: (callId, event) => {
        switch (event.type) {
          case 'latency':
            metrics.turnCompleted({ marks: event.timeline });
            logger.info({ callId, turn: event.turn, latency: event.timeline }, 'turn latency');
            return;
          case 'tool_result':
            metrics.toolCompleted(event.name, isSuccess(event.result) ? 'ok' : 'error', event.durationMs);
            logger.info({ callId, tool: event.name, durationMs: event.durationMs, success: isSuccess(event.result) }, 'tool result');
            return;
          case 'agent_interrupted':
            metrics.bargeIn();
            logger.debug({ callId, turn: event.turn }, 'caller barged in');
            return;
          case 'agent_paused':
          case 'agent_resumed':
            logger.debug({ callId, turn: event.turn }, event.type === 'agent_paused' ? 'agent paused: the caller may be talking' : 'agent resumed: it was not a turn');
            return;
          case 'background_words':
            // Not the text: what a radio or a colleague said is nobody's business here either.
            logger.debug({ callId }, 'words over the agent with no voice of the caller on the line: taken for a voice behind them');
            return;
          case 'stt_reconnected':
            metrics.providerRetry(names.stt);
            logger.warn({ callId, attempt: event.attempt }, 'speech-to-text reconnected');
            return;
          default:
            return;
        }
      },
      onError: (callId, error, where) => {
        const vendor = where === 'stt' ? names.stt : where === 'tts' ? names.tts : where === 'turn' ? names.llm : where;
        metrics.providerError(vendor);
        logger.error({ callId, where, err: error }, 'call error');
      },
    });

    const callControl =
      config.twilio.accountSid && config.twilio.authToken
        ? createTwilioCallControl({
            accountSid: config.twilio.accountSid,
            authToken: config.twilio.authToken,
            ...(config.twilio.apiBaseUrl === undefined ? {} : { apiBaseUrl: config.twilio.apiBaseUrl }),
            timeoutMs: 5_000,
          })
        : undefined;

    let draining = false;
    const app = await buildServer({
      logger,
      metrics: worker === undefined ? metrics : { contentType: metrics.contentType, render: worker.renderMetrics },
      isDraining: () => draining,
      readinessChecks: [
        { name: 'database', kind: database.kind, probe: () => database.ping() },
        { name: 'cache', kind: cache.kind, probe: () => cache.ping() },
        // Reported, not gating: the backlog is shared by every instance through the database, so
        // failing readiness on it would take the whole phone line down whenever the calendar is.
        // Conflicts (staff moves the database refused) are reported for staff to fix, not gating either.
        {
          name: 'calendar_sync',
          kind: calendar.kind,
          probe: async () => {
            const [backlog, conflicts] = await Promise.all([pendingSyncCount(database.db), calendarConflicts(database.db, 20)]);
            return { backlog, conflicts: conflicts.count, conflictIds: conflicts.ids };
          },
        },
      ],
      routes: [
        twilioRoutes({
          manager: calls,
          publicUrl: config.publicUrl,
          authToken: config.twilio.authToken,
          streamTokenTtlSeconds: config.calls.streamTokenTtlSeconds,
          tokenLedger: createStreamTokenLedger(database.db),
          transferNumber: config.twilio.transferNumber,
          callControl,
          logger,
        }),
        harnessRoutes({
          manager: calls,
          harnessToken: config.harnessToken,
          logger,
          voiceAvailable: providers.stt !== undefined,
          webrtcAvailable: providers.stt !== undefined,
          agentAudio: providers.tts !== undefined,
          textModeProviders: { stt: undefined },
        }),
        webrtcRoutes({
          manager: calls,
          harnessToken: config.harnessToken,
          ice: config.webrtc,
          voiceAvailable: providers.stt !== undefined,
          agentAudio: providers.tts !== undefined,
          logger,
        }),
        googleRoutes({ notifications: calendarSync, logger }),
      ],
    });
    closers.push(() => app.close());

    const url = await app.listen({ host: config.host, port: config.port });
    // Started once listening: opening a push channel makes Google notify this address at once.
    if (worker === undefined) calendarSync?.start();
    else {
      worker.onBackgroundDuty(() => {
        reconciler.start();
        calendarSync?.start();
      });
    }
    logger.info(
      { url, database: database.kind, cache: cache.kind, calendar: calendar.kind, voice: names },
      `${config.shopName} voice agent listening`,
    );
    if (config.harnessToken === undefined && !isLoopbackHost(config.host)) {
      logger.warn(
        { host: config.host },
        'HARNESS_TOKEN is not set: the harness socket is loopback-only (clients on this machine); set HARNESS_TOKEN to call in from elsewhere',
      );
    }

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        draining = true;
        const drained = await calls.drain(config.shutdownDrainMs);
        logger.info(drained, 'calls drained');
        // Bookings made during the last calls get their calendar events before we go.
        // Including writes that failed moments ago and are not due again yet: the process is going.
        await reconciler.runOnce({ dueWithinMs: 60 * 60_000 }).catch((error: unknown) => logger.error({ err: error }, 'final calendar sync failed'));
        await closeAll();
      })();
      return stopping;
    };
    return { app, database, cache, calendar, calls, metrics, voice: names, url, stop };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function isSuccess(result: unknown): boolean {
  return typeof result === 'object' && result !== null && (result as { success?: unknown }).success === true;
}

function createCalendar(config: Config, metrics: Metrics): CalendarProvider {
  if (config.google === undefined) return createLocalCalendar({ bays: config.serviceBays });
  return createGoogleCalendar({
    onRetry: () => metrics.providerRetry('google_calendar'),
    clientId: config.google.clientId,
    clientSecret: config.google.clientSecret,
    refreshToken: config.google.refreshToken,
    calendarId: config.google.calendarId,
    bayCalendarIds: config.google.bayCalendarIds,
    bays: config.serviceBays,
    ...(config.google.apiBaseUrl === undefined ? {} : { apiBaseUrl: config.google.apiBaseUrl }),
    ...(config.google.tokenUri === undefined ? {} : { tokenUri: config.google.tokenUri }),
    timeZone: config.business.timeZone,
  });
}

/**
 * The sync that brings staff edits of the agent's events back into the database, with a push
 * channel when PUBLIC_URL is https (Google notifies only https addresses); else the interval alone.
 */
function createStaffEditSync(config: Config, database: Database, calendar: CalendarProvider, cache: Cache, logger: Logger): CalendarSync | undefined {
  if (config.google === undefined || !hasChangeFeed(calendar)) return undefined;
  const notificationAddress = calendarNotificationUrl(config.publicUrl);
  if (notificationAddress === undefined) {
    logger.info(
      { intervalMs: config.calendarSyncIntervalMs },
      'calendar push notifications off (PUBLIC_URL is not https): staff edits are read every CALENDAR_SYNC_INTERVAL_MS',
    );
  }
  const log = logger.child({ component: 'calendar_sync' });
  const shopCalendarId = config.google.calendarId;
  return createCalendarSync({
    db: database.db,
    feed: calendar,
    // The shop calendar and every bay calendar; an event counts in the calendar its appointment
    // records (a move between bay calendars leaves a deletion behind in the old one).
    calendarIds: [config.google.calendarId, ...config.google.bayCalendarIds],
    calendarOf: (appointment) => appointment.calendarId ?? shopCalendarId,
    timeZone: config.business.timeZone,
    intervalMs: config.calendarSyncIntervalMs,
    cache,
    notificationAddress,
    onEvent: (event) => logCalendarSyncEvent(log, event),
    onError: (calendarId, error) => log.warn({ calendarId, err: error }, 'calendar sync failed; will retry'),
  });
}

function logCalendarSyncEvent(log: Logger, event: CalendarSyncEvent): void {
  switch (event.kind) {
    case 'cancelled':
      log.info(event, 'appointment deleted in the calendar by staff: cancelled in the database');
      return;
    case 'moved':
      log.info(event, 'appointment moved in the calendar by staff: moved in the database');
      return;
    case 'conflict':
      log.warn(event, 'appointment moved in the calendar onto another booking: not applied, flagged for staff');
      return;
    case 'conflict_cleared':
      log.info(event, 'calendar conflict resolved: the calendar and the database agree again');
      return;
    case 'full_sync':
      log.info(event, 'listing the whole calendar (no usable sync token)');
      return;
    default:
      log.info(event, `calendar push channel: ${event.kind.replace('channel_', '')}`);
  }
}

/** Each cloud vendor takes over as soon as its key is set; without keys the call still works offline. */
function createVoiceProviders(config: Config, logger: Logger, metrics: Metrics, now: () => Date) {
  const stt = config.deepgram.apiKey
    ? createDeepgramStt({
        apiKey: config.deepgram.apiKey,
        ...(config.deepgram.baseUrl === undefined ? {} : { baseUrl: config.deepgram.baseUrl }),
        model: config.deepgram.model,
      })
    : undefined;
  const llm = config.openai.apiKey
    ? createOpenAiLlm({
        apiKey: config.openai.apiKey,
        ...(config.openai.baseUrl === undefined ? {} : { baseUrl: config.openai.baseUrl }),
        model: config.openai.model,
        onRetry: () => metrics.providerRetry('openai'),
      })
    : createOfflineAssistant({ timeZone: config.business.timeZone, now });
  const elevenlabs = config.elevenlabs.apiKey
    ? createElevenLabsTts({
        apiKey: config.elevenlabs.apiKey,
        ...(config.elevenlabs.baseUrl === undefined ? {} : { baseUrl: config.elevenlabs.baseUrl }),
        voiceId: config.elevenlabs.voiceId ?? DEFAULT_ELEVENLABS_VOICE,
        modelId: config.elevenlabs.model,
      })
    : undefined;
  const tts: TtsProvider | undefined = elevenlabs ?? (espeakAvailable() ? createEspeakTts({}) : undefined);
  const providers: CallProviders = { stt, llm, tts };
  const names = {
    stt: stt?.name ?? 'none (typed turns only)',
    llm: llm.name,
    tts: tts?.name ?? 'none (text replies only)',
    vad: 'none (STT words only)',
  };
  if (!config.openai.apiKey) logger.warn('OPENAI_API_KEY not set: using the offline scheduling assistant (rule-based, no LLM)');
  return { providers, names, closeProviders: () => elevenlabs?.close() };
}

/** Synthesises a phrase ahead of time, per format, for when TTS itself is what fails mid-call. */
async function presynthesize(
  tts: TtsProvider | undefined,
  text: string,
  formats: readonly AudioFormat[],
  logger: Logger,
): Promise<Map<string, Uint8Array>> {
  const audio = new Map<string, Uint8Array>();
  if (tts === undefined) return audio;
  await Promise.all(
    formats.map(async (format) => {
      try {
        const stream = await tts.open({ format, signal: AbortSignal.timeout(10_000) });
        stream.sendText(text);
        stream.end();
        const chunks: Uint8Array[] = [];
        for await (const chunk of stream.audio) chunks.push(chunk);
        audio.set(formatKey(format), Buffer.concat(chunks));
      } catch (error) {
        logger.warn({ err: error, format, text }, 'could not pre-synthesise a fixed phrase; it will be synthesised live');
      }
    }),
  );
  return audio;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const rootLogger = createLogger({ level: config.logLevel, secrets: config.secrets });
  if (config.workers > 1 && !isClusterWorker()) {
    installProcessGuards(rootLogger);
    runPrimary(config, rootLogger);
    return;
  }
  if (config.workers > 1) makeUdpBindsExclusive();
  const worker = config.workers > 1 ? connectToPrimary() : undefined;
  const logger = worker === undefined ? rootLogger : rootLogger.child({ worker: worker.name });
  installProcessGuards(logger);
  let running: RunningApp;
  try {
    running = await startApp(config, logger, worker === undefined ? {} : { worker });
  } catch (error) {
    // Like a configuration error, something for the operator to act on, not a crash: one plain line.
    if (error instanceof DataDirInUseError) process.stderr.write(`${error.message}\n`);
    else logger.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }

  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    // A worker hears both the primary's request and, from a terminal, the same Ctrl-C.
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal, activeCalls: running.calls.activeCalls() }, 'shutting down: no new calls, finishing live ones');
    const force = setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, config.shutdownDrainMs + 15_000);
    force.unref();
    running.stop().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  worker?.onShutdownRequested(() => shutdown('primary'));
  worker?.ready();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
