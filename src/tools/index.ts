/** The tools the LLM sees, in the order it is shown them. Names and arguments are a public contract. */
import { addVehicle } from './add-vehicle.js';
import { bookAppointment } from './book-appointment.js';
import { cancelAppointment } from './cancel-appointment.js';
import { createCustomer } from './create-customer.js';
import { endCall } from './end-call.js';
import { getAvailableSlots } from './get-available-slots.js';
import { getUpcomingAppointments } from './get-upcoming-appointments.js';
import { lookupCustomer } from './lookup-customer.js';
import { rescheduleAppointment } from './reschedule-appointment.js';
import type { AnyTool } from './tool.js';
import { transferToHuman } from './transfer-to-human.js';

export const ALL_TOOLS: readonly AnyTool[] = [
  lookupCustomer,
  createCustomer,
  addVehicle,
  getAvailableSlots,
  bookAppointment,
  cancelAppointment,
  rescheduleAppointment,
  getUpcomingAppointments,
  transferToHuman,
  endCall,
] as unknown as readonly AnyTool[];
