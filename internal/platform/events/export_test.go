package events

// MigratedPool is migratedPool for the external tests (package events_test).
var MigratedPool = migratedPool
