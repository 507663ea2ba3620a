DROP TABLE appointment_type_providers;
ALTER TABLE appointment_types DROP COLUMN offered_by_all;
