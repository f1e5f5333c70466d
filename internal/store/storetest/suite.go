package storetest

import (
	"database/sql"
	"testing"

	"github.com/liftoffhq/liftoff/internal/store"
)

// Driver is what the suite needs of a dialect. Each dialect's own test
// package fills it in and calls Run, so a dialect is tested where it lives
// and the suite knows no dialect.
type Driver struct {
	// Open opens a fresh, empty, migrated store, closed when the test ends.
	Open func(t *testing.T) store.Store

	// OpenAt makes a fresh database migrated up to version only, as a
	// Liftoff of that version left it, for the upgrade cases to fill with
	// old rows through db (which they close). open then opens it as a store,
	// closed when the test ends, which migrates it to the newest version.
	OpenAt func(t *testing.T, version int64) (db *sql.DB, open func(t *testing.T) store.Store)
}

// testCase is one case of the suite, on a store of its own.
type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the whole conformance suite on the dialect d opens, every case
// in parallel on a store of its own.
func Run(t *testing.T, d Driver) {
	t.Helper()
	groups := []struct {
		name  string
		cases []testCase
	}{
		{"Basics", basicCases()},
		{"Engine", engineCases()},
		{"Isolation", isolationCases()},
		{"Readout", readoutCases()},
		{"Repos", reposCases()},
		{"Jobs", jobCases()},
		{"Runtime", runtimeCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, d.Open(t))
				})
			}
		})
	}
	for _, c := range []testCase{
		{"Previews", testPreviews},
		{"DeleteProject", testDeleteProject},
		{"ClaimWaitsForCleanup", testClaimWaitsForCleanup},
		{"CountLivePreviews", testCountLivePreviews},
		{"Variables", testVariables},
		{"Protection", testProtection},
		{"CertificateItems", testCertificateItems},
		{"CertificateLocks", testCertificateLocks},
		{"Users", testUsers},
		{"UserRoles", testUserRoles},
		{"ManagedResources", testManagedResources},
		{"Notifications", testNotifications},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, d.Open(t))
		})
	}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, d Driver)
	}{
		{"APIKeysBeforeScopesAreAdmin", testAPIKeysBeforeScopesAreAdmin},
		{"MigrationTakesCredentialsOutOfURLs", testMigrationTakesCredentialsOutOfURLs},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, d)
		})
	}
}
