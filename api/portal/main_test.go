package portal

import (
	"testing"

	"github.com/roost-social/roost/internal/testenv"
)

// TestMain gives the tests a private PostgreSQL and Redis: the issue 14
// tests run the portal on the real signup store and sign-in throttle.
func TestMain(m *testing.M) { testenv.Main(m) }
