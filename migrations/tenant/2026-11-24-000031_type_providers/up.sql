-- Which providers offer an appointment type. By default every active provider does (as
-- before); an admin may narrow a type to a list, and slot search, booking, series and the
-- waitlist then keep to it.
ALTER TABLE appointment_types
    ADD COLUMN offered_by_all boolean NOT NULL DEFAULT true;

CREATE TABLE appointment_type_providers (
    type_id     uuid NOT NULL REFERENCES appointment_types (id) ON DELETE CASCADE,
    provider_id uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (type_id, provider_id)
);
CREATE INDEX appointment_type_providers_provider ON appointment_type_providers (provider_id);
