/** Phone numbers belong to the CRM now; this stays for src/server/harness-routes.ts until it imports from there. */
export { normalizePhone } from '../crm/phone.js';
