/**
 * How a customer appears in tool results (snake_case for the LLM, times in shop time) and how it
 * is loaded: from the cache when a recent look-up left it there, else from the database. Shared by
 * the customer tools and anything else that shows a customer's records.
 */
import { asc, eq } from 'drizzle-orm';
import { customers, vehicles } from '../db/schema.js';
import type { Customer, Vehicle } from '../db/schema.js';
import type { AppointmentView } from '../scheduling/booking-service.js';
import { CUSTOMER_CACHE_TTL_MS, customerPhoneKey } from '../crm/customer-cache.js';
import { spokenList, withArticle } from './spoken.js';
import { normalizePhone } from '../crm/phone.js';
import type { ToolContext, ToolServices } from './tool.js';

export interface CustomerData {
  id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string;
}

export interface VehicleData {
  id: string;
  year: number;
  make: string;
  model: string;
  vin: string | null;
  mileage: number | null;
}

export interface UpcomingAppointmentData {
  id: string;
  service_type: string;
  /** "Thursday, December 3 at 2:00 PM", shop time. */
  when: string;
  /** ISO 8601 with the shop's offset. */
  starts_at: string;
  vehicle_id: string;
}

/** A customer with their vehicles and upcoming appointments; plain JSON, so it can be cached. */
export interface CustomerView {
  customer: CustomerData;
  vehicles: VehicleData[];
  upcoming_appointments: UpcomingAppointmentData[];
}

export function customerData(row: Customer): CustomerData {
  return { id: row.id, first_name: row.firstName, last_name: row.lastName, email: row.email, phone: row.phone };
}

export function vehicleData(row: Vehicle): VehicleData {
  return { id: row.id, year: row.year, make: row.make, model: row.model, vin: row.vin, mileage: row.mileage };
}

export function upcomingAppointmentData(view: AppointmentView): UpcomingAppointmentData {
  return { id: view.id, service_type: view.serviceType, when: view.when, starts_at: view.startsAt, vehicle_id: view.vehicleId };
}

/** The caller's network-verified number in E.164, or undefined when withheld or unreadable. */
export function callerPhone(context: ToolContext): string | undefined {
  const number = context.caller.phoneNumber;
  return number === undefined ? undefined : normalizePhone(number);
}

/** The customer with this (E.164) number, their vehicles and upcoming appointments. */
export async function loadCustomerView(services: ToolServices, phone: string): Promise<CustomerView | undefined> {
  const row = await services.db.query.customers.findFirst({ where: eq(customers.phone, phone) });
  if (row === undefined) return undefined;
  const [vehicleRows, upcoming] = await Promise.all([
    services.db.query.vehicles.findMany({
      where: eq(vehicles.customerId, row.id),
      orderBy: [asc(vehicles.createdAt), asc(vehicles.id)],
    }),
    services.booking.upcoming(row.id),
  ]);
  return {
    customer: customerData(row),
    vehicles: vehicleRows.map(vehicleData),
    upcoming_appointments: upcoming.map(upcomingAppointmentData),
  };
}

/**
 * The customer with this E.164 number, read through the cache. Only found customers are cached:
 * "no account" must not outlive an account created moments later by another path (seeding, staff).
 */
export async function customerViewByPhone(services: ToolServices, phone: string): Promise<CustomerView | undefined> {
  const key = customerPhoneKey(phone);
  const cached = await services.cache?.get<CustomerView>(key);
  if (cached !== undefined) return cached;
  const view = await loadCustomerView(services, phone);
  // Filling the cache is not worth the caller's wait: a slow or partitioned Redis would add its
  // command timeout a second time. withFallback never rejects for an outage.
  if (view !== undefined) void services.cache?.set(key, view, CUSTOMER_CACHE_TTL_MS).catch(() => undefined);
  return view;
}

/** "a 2019 Toyota Camry" (model years are said "twenty nineteen", "nineteen ninety-eight": always "a"). */
export function vehicleLabel(vehicle: Pick<VehicleData, 'year' | 'make' | 'model'>): string {
  return `${vehicle.year} ${vehicle.make} ${vehicle.model}`;
}

/**
 * "I found your account, Maria. You have a 2019 Toyota Camry and a 2022 Honda CR-V on file, and an
 * oil change booked for Thursday, December 3 at 2:00 PM."
 */
export function describeCustomerView(view: CustomerView, opening = `I found your account, ${view.customer.first_name}.`): string {
  const cars = view.vehicles;
  const carsText =
    cars.length === 0 ? undefined : cars.length <= 3 ? spokenList(cars.map((v) => `a ${vehicleLabel(v)}`)) : `${cars.length} vehicles`;
  const appointments = view.upcoming_appointments;
  const [next] = appointments;
  const bookedText =
    next === undefined
      ? undefined
      : appointments.length === 1
        ? `${withArticle(next.service_type)} booked for ${next.when}`
        : `${appointments.length} upcoming appointments, the next one ${withArticle(next.service_type)} on ${next.when}`;
  if (carsText === undefined && bookedText === undefined) return `${opening} There are no vehicles on your account yet.`;
  if (carsText === undefined) return `${opening} You have ${bookedText}.`;
  if (bookedText === undefined) return `${opening} You have ${carsText} on file and no upcoming appointments.`;
  return `${opening} You have ${carsText} on file, and ${bookedText}.`;
}
