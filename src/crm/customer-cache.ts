/**
 * The cache key of a customer look-up (customer, vehicles, upcoming appointments), by phone
 * number: the only way a look-up is cached. Every change to a customer's records deletes it, so the
 * next look-up reads the database.
 */
import type { Cache } from '../cache/cache.js';

export const CUSTOMER_CACHE_TTL_MS = 5 * 60_000;

/**
 * The cached shape is part of the key ("v2": the CRM's record): instances of two versions share
 * Redis during a rolling deploy, and neither may read a value in the other's shape.
 */
export function customerPhoneKey(phone: string): string {
  return `customer:v2:phone:${phone}`;
}

export async function invalidateCustomer(cache: Cache | undefined, customer: { phone: string }): Promise<void> {
  await cache?.delete(customerPhoneKey(customer.phone));
}
