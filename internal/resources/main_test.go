package resources_test

import (
	"testing"

	"github.com/liftoffhq/liftoff/internal/store/pgnote"
)

// TestMain says, once for all the packages a go command tests, that the
// PostgreSQL tests skip when LIFTOFF_TEST_DATABASE_URL is not set.
func TestMain(m *testing.M) { pgnote.Main(m) }
