/** How appointments appear in tool results: snake_case for the LLM, times in shop time. */
import type { AppointmentView } from '../scheduling/booking-service.js';

export function appointmentData(view: AppointmentView) {
  return {
    id: view.id,
    customer_id: view.customerId,
    vehicle_id: view.vehicleId,
    service_type: view.serviceType,
    status: view.status,
    starts_at: view.startsAt,
    ends_at: view.endsAt,
    duration_minutes: view.durationMinutes,
    when: view.when,
    notes: view.notes,
  };
}
