-- No double booking, decided by the database itself: two active appointments in the same bay may
-- not overlap in time. Races between simultaneous callers end here with SQLSTATE 23P01.
-- btree_gist lets the gist index combine "bay =" with "time range &&"; it is a trusted extension
-- (PostgreSQL 13+), so a database owner without superuser can create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_no_overlap"
  EXCLUDE USING gist ("bay" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&)
  WHERE ("status" IN ('scheduled', 'completed'));
