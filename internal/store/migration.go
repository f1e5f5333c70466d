package store

// Migration is what migrating a database did: liftoff migrate prints it.
type Migration struct {
	// Before is the schema version the database was at: 0 for a new one.
	Before int64
	// After is the version it was left at: Embedded, unless the database
	// was already newer (a newer Liftoff migrated it; nothing is applied).
	After int64
	// Embedded is the newest migration this binary carries.
	Embedded int64
}

// Newer reports whether a newer Liftoff migrated the database: this binary
// has nothing to apply and must not serve it.
func (m Migration) Newer() bool { return m.Before > m.Embedded }
