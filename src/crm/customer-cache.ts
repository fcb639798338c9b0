/**
 * Cache keys of customer look-ups (customer, vehicles, upcoming appointments). Every change to a
 * customer's records deletes both keys, so the next look-up reads the database.
 */
import type { Cache } from '../cache/cache.js';

export const CUSTOMER_CACHE_TTL_MS = 5 * 60_000;

export function customerIdKey(id: string): string {
  return `customer:id:${id}`;
}

/**
 * The cached shape is part of the key ("v2": the CRM's record): instances of two versions share
 * Redis during a rolling deploy, and neither may read a value in the other's shape.
 */
export function customerPhoneKey(phone: string): string {
  return `customer:v2:phone:${phone}`;
}

export function customerCacheKeys(customer: { id: string; phone: string }): string[] {
  return [customerIdKey(customer.id), customerPhoneKey(customer.phone)];
}

export async function invalidateCustomer(cache: Cache | undefined, customer: { id: string; phone: string }): Promise<void> {
  await cache?.delete(...customerCacheKeys(customer));
}
