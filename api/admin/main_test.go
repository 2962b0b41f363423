package admin

import (
	"testing"

	"github.com/roost-social/roost/internal/testenv"
)

// TestMain gives the package's tests a private PostgreSQL and Redis
// (internal/testenv): the authority tests run the real handlers on the
// real stores. Tests on the in-memory fakeStore do not use them.
func TestMain(m *testing.M) { testenv.Main(m) }
