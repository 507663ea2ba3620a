DROP TABLE control.operator_events;
DROP FUNCTION control.operator_events_refuse_change();
DROP TABLE control.operator_sessions;
DROP TABLE control.operators;
