-- One car cannot be in two places at once: two active appointments for the same vehicle may not
-- overlap in time, whatever their bays. With several bays, appointments_no_overlap (0001) alone
-- would let one car be booked into bay 1 and bay 2 at the same time; this decides that race in the
-- database too (SQLSTATE 23P01, told apart from the bay constraint by its name).
-- Existing rows cannot violate it: before bays, every appointment was written without a bay and
-- so is in bay 1 (the column's DEFAULT 1 NOT NULL since 0000), where appointments_no_overlap
-- already kept all active appointments, this car's included, from overlapping.
-- btree_gist (created in 0001) provides the "=" operator class for uuid in a gist index.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_vehicle_no_overlap"
  EXCLUDE USING gist ("vehicle_id" WITH =, tstzrange("starts_at", "ends_at", '[)') WITH &&)
  WHERE ("status" IN ('scheduled', 'completed'));
