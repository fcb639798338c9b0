/**
 * Real services for tool tests: a migrated database (PGlite by default), the local calendar, a
 * memory cache and a fixed clock (Tuesday 2026-12-01 10:00 in New York unless `now` is given),
 * plus a context factory whose call actions record what the tools asked of the call, and the
 * shop's ports over them (all the tools, the system prompt) for sessions and call managers, wired
 * as main.ts wires them.
 */
import { createMemoryCache } from '../../src/cache/memory-cache.js';
import type { Cache } from '../../src/cache/cache.js';
import type { CalendarProvider } from '../../src/calendar/calendar.js';
import { createLocalCalendar } from '../../src/calendar/local.js';
import { createCustomerService } from '../../src/crm/customer-service.js';
import type { Database } from '../../src/db/client.js';
import { customers, vehicles } from '../../src/db/schema.js';
import { createBookingService } from '../../src/scheduling/booking-service.js';
import { defaultBusinessRules } from '../../src/scheduling/business-rules.js';
import type { InstructionsPort } from '../../src/core/instructions-port.js';
import type { ToolPortFactory } from '../../src/core/tool-port.js';
import { ALL_TOOLS } from '../../src/tools/index.js';
import { createShopToolPorts, shopInstructions } from '../../src/tools/shop-ports.js';
import type { CallActions, ToolContext, ToolServices } from '../../src/tools/tool.js';
import { databaseBackends } from './databases.js';

export const FIXTURE_ZONE = 'America/New_York';
export const FIXTURE_NOW = new Date('2026-12-01T15:00:00Z');

export interface ToolFixture {
  database: Database;
  cache: Cache;
  services: ToolServices;
  /** Every call's tools: ALL_TOOLS over `services`. */
  toolPorts: ToolPortFactory;
  /** The shop's system prompt, on the fixed clock. */
  instructions: InstructionsPort;
  close(): Promise<void>;
  /** A context for one tool call; `phoneNumber` is the caller's verified number. */
  context(options?: { phoneNumber?: string | undefined; toolCallId?: string; signal?: AbortSignal; verified?: string[] }): ToolContext & {
    actionsTaken: Array<{ action: 'transfer' | 'end'; reason?: string | undefined }>;
  };
  /** Inserts a customer (and optionally vehicles) directly, bypassing tools. */
  addCustomer(input: {
    phone: string;
    firstName?: string;
    lastName?: string;
    email?: string | null;
    vehicles?: Array<{ year: number; make: string; model: string; vin?: string | null }>;
  }): Promise<{ customerId: string; vehicleIds: string[] }>;
}

export async function openToolFixture(
  options: { calendar?: (database: Database) => CalendarProvider; transferNumber?: string; now?: Date } = {},
): Promise<ToolFixture> {
  const database = await databaseBackends()[0]!.open();
  const cache = createMemoryCache();
  const rules = defaultBusinessRules(FIXTURE_ZONE);
  const fixed = options.now ?? FIXTURE_NOW;
  const now = () => fixed;
  const calendar = options.calendar?.(database) ?? createLocalCalendar();
  const booking = createBookingService({ db: database.db, calendar, rules, shopName: 'Test Garage', cache, now });
  const customerService = createCustomerService({ db: database.db, cache, timeZone: rules.timeZone, now, upcomingAppointments: booking.upcoming });
  const services: ToolServices = { booking, customers: customerService, rules, shopName: 'Test Garage', now };
  let callCounter = 0;

  return {
    database,
    cache,
    services,
    toolPorts: createShopToolPorts({ tools: ALL_TOOLS, services }),
    instructions: shopInstructions(services),
    async close() {
      await Promise.all([database.close(), cache.close()]);
    },
    context(contextOptions = {}) {
      const actionsTaken: Array<{ action: 'transfer' | 'end'; reason?: string | undefined }> = [];
      const actions: CallActions = {
        async transferToHuman(reason) {
          actionsTaken.push({ action: 'transfer', reason });
          return options.transferNumber
            ? { transferred: true, message: 'Transferring you to someone at the shop now.' }
            : { transferred: false, message: 'Someone from the shop will call you back shortly.' };
        },
        async endCall() {
          actionsTaken.push({ action: 'end' });
        },
      };
      callCounter += 1;
      return {
        signal: contextOptions.signal ?? new AbortController().signal,
        toolCallId: contextOptions.toolCallId ?? `call_test_${callCounter}`,
        callId: 'CA-test',
        caller: {
          phoneNumber: 'phoneNumber' in contextOptions ? contextOptions.phoneNumber : '+15550009999',
          verifiedCustomerIds: new Set(contextOptions.verified ?? []),
        },
        services,
        actions,
        actionsTaken,
      };
    },
    async addCustomer(input) {
      const [customer] = await database.db
        .insert(customers)
        .values({
          phone: input.phone,
          firstName: input.firstName ?? 'Dana',
          lastName: input.lastName ?? 'Reyes',
          email: input.email ?? null,
        })
        .returning();
      const vehicleIds: string[] = [];
      for (const v of input.vehicles ?? []) {
        const [row] = await database.db
          .insert(vehicles)
          .values({ customerId: customer!.id, year: v.year, make: v.make, model: v.model, vin: v.vin ?? null })
          .returning();
        vehicleIds.push(row!.id);
      }
      return { customerId: customer!.id, vehicleIds };
    },
  };
}
