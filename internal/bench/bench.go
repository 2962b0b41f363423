// Package bench holds the benchmarks behind `roost bench`: the seeding of
// a private database, the load generators and the measurements. It runs
// against services cmd/roost has already provisioned and wired (a private
// PostgreSQL and Redis, never a real instance) and takes them through the
// small structs below; it never builds a store itself. cmd parses the
// flags and prints each result as one JSON line.
package bench

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Env is what every benchmark starts from: the private database, which
// the benchmarks seed with SQL of their own (set-based, far faster than
// the use cases for millions of rows), and the use cases that create
// tenants and accounts the way an operator does.
type Env struct {
	// DB is the provisioned private database.
	DB *pgxpool.Pool
	// Tenants creates the benchmark's tenants.
	Tenants TenantCreator
	// CreateAccount creates a local account and its login on a tenant's
	// handle domain, as `roost account create` does.
	CreateAccount func(ctx context.Context, domain, username, email, password, display string) (*federation.Account, error)
	// Progress receives what the benchmark is doing (stderr).
	Progress io.Writer
}

// TenantCreator creates tenants (tenant.Service).
type TenantCreator interface {
	CreateTenant(ctx context.Context, name, domain, serviceDomain string) (*tenant.Tenant, error)
}

// Server is the HTTP API as a web node serves it (api.New's app), wired
// by cmd; a benchmark serves it on a loopback listener of its own.
type Server interface {
	Listener(ln net.Listener) error
	Shutdown() error
}

// API is the client API with the OAuth service that issues its tokens.
type API struct {
	Server Server
	OAuth  *oauth.Service
}

func (e *Env) progress() io.Writer {
	if e.Progress == nil {
		return io.Discard
	}
	return e.Progress
}

// token issues an access token for a local account the way the
// authorization code flow does: app registered, code approved, code
// exchanged.
func token(ctx context.Context, o *oauth.Service, tenantID, accountID int64, scopes string) (string, error) {
	const oob = "urn:ietf:wg:oauth:2.0:oob"
	app, secret, err := o.RegisterApp(ctx, tenantID, "bench", "", oob, scopes)
	if err != nil {
		return "", err
	}
	code, err := o.Authorize(ctx, app, accountID, oob, scopes, "", "")
	if err != nil {
		return "", err
	}
	g, err := o.Exchange(ctx, tenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oob})
	if err != nil {
		return "", err
	}
	return g.AccessToken, nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// pct is the p-th percentile of lat in milliseconds.
func pct(lat []time.Duration, p int) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return round3(float64(s[min(len(s)*p/100, len(s)-1)].Microseconds()) / 1000)
}

// cpuTime is the CPU time used so far by this process and by the
// PostgreSQL processes it started (descendants named postgres).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // cannot fail for RUSAGE_SELF
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	type proc struct {
		ppid  int
		ticks int64
		pg    bool
	}
	procs := map[int]proc{}
	ents, _ := os.ReadDir("/proc") // none readable: this process alone
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(st[end+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid, ut + stt, st[open+1:end] == "postgres"}
	}
	me := os.Getpid()
	for _, p := range procs {
		if !p.pg {
			continue
		}
		for q := p.ppid; q > 1; q = procs[q].ppid {
			if q == me {
				total += time.Duration(p.ticks) * 10 * time.Millisecond // USER_HZ = 100
				break
			}
		}
	}
	return total
}
