/**
 * How a customer appears in tool results: snake_case for the LLM, times in shop time, and the
 * sentence that sums an account up. Shared by the customer tools and anything else that shows a
 * customer's records; the records themselves come from the CRM service.
 */
import type { CustomerProfile, CustomerRecord, UpcomingAppointment, VehicleProfile } from '../crm/records.js';
import { spokenList, withArticle } from './spoken.js';

export interface CustomerData {
  id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string;
}

/** The CRM's vehicle already reads well as JSON (its fields are single words). */
export type VehicleData = VehicleProfile;

export interface UpcomingAppointmentData {
  id: string;
  service_type: string;
  /** "Thursday, December 3 at 2:00 PM", shop time. */
  when: string;
  /** ISO 8601 with the shop's offset. */
  starts_at: string;
  vehicle_id: string;
}

/** A customer with their vehicles and upcoming appointments. */
export interface CustomerView {
  customer: CustomerData;
  vehicles: VehicleData[];
  upcoming_appointments: UpcomingAppointmentData[];
}

export function customerData(customer: CustomerProfile): CustomerData {
  return {
    id: customer.id,
    first_name: customer.firstName,
    last_name: customer.lastName,
    email: customer.email,
    phone: customer.phone,
  };
}

/** Only a vehicle's own fields: whatever else the source carries (its owner's email) stays out. */
export function vehicleData(vehicle: VehicleProfile): VehicleData {
  return { id: vehicle.id, year: vehicle.year, make: vehicle.make, model: vehicle.model, vin: vehicle.vin, mileage: vehicle.mileage };
}

export function upcomingAppointmentData(view: UpcomingAppointment): UpcomingAppointmentData {
  return { id: view.id, service_type: view.serviceType, when: view.when, starts_at: view.startsAt, vehicle_id: view.vehicleId };
}

export function customerView(record: CustomerRecord): CustomerView {
  return {
    customer: customerData(record.customer),
    vehicles: record.vehicles.map(vehicleData),
    upcoming_appointments: record.upcomingAppointments.map(upcomingAppointmentData),
  };
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
