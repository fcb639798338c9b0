/**
 * Customers and vehicles as the CRM hands them out: plain JSON (no Dates), so a look-up can be
 * cached and read back unchanged. How tools show them to the LLM is the tools' business.
 */
import type { Customer, Vehicle } from '../db/schema.js';

export interface CustomerProfile {
  id: string;
  firstName: string;
  lastName: string;
  email: string | null;
  /** E.164. */
  phone: string;
}

export interface VehicleProfile {
  id: string;
  year: number;
  make: string;
  model: string;
  vin: string | null;
  mileage: number | null;
}

/** What a look-up shows of an upcoming appointment; the booking service owns the appointments. */
export interface UpcomingAppointment {
  id: string;
  serviceType: string;
  /** "Thursday, December 3 at 2:00 PM", shop time. */
  when: string;
  /** ISO 8601 with the shop's offset. */
  startsAt: string;
  vehicleId: string;
}

/** A customer with their vehicles (oldest first) and upcoming appointments (soonest first). */
export interface CustomerRecord {
  customer: CustomerProfile;
  vehicles: VehicleProfile[];
  upcomingAppointments: UpcomingAppointment[];
}

/** A vehicle with its owner's email: where the invitation for its booking goes. */
export interface OwnedVehicle extends VehicleProfile {
  ownerEmail: string | null;
}

export function customerProfile(row: Customer): CustomerProfile {
  return { id: row.id, firstName: row.firstName, lastName: row.lastName, email: row.email, phone: row.phone };
}

export function vehicleProfile(row: Vehicle): VehicleProfile {
  return { id: row.id, year: row.year, make: row.make, model: row.model, vin: row.vin, mileage: row.mileage };
}

/** Only the fields above: the record is cached, and whatever else the source carries is not ours. */
export function upcomingAppointment(source: UpcomingAppointment): UpcomingAppointment {
  return { id: source.id, serviceType: source.serviceType, when: source.when, startsAt: source.startsAt, vehicleId: source.vehicleId };
}
