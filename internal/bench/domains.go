package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

// DomainsOptions are the flags of `roost bench domains`.
type DomainsOptions struct {
	Count int // tenants, one verified domain and one account each
	// OwnPercent is the share of tenants on a domain of their own (the
	// rest are subdomains of BaseDomain); a fifth of those also have a
	// service domain.
	OwnPercent int
	BaseDomain string
	Nodes      int           // roost serve processes (invalidation is observed on each)
	Duration   time.Duration // length of each timed TLS and routing run
	Samples    int           // timed reads per dashboard page
	TLSCold    int           // handshakes for names outside the certificate cache
	// TLSCacheMiB is the HTTPS node's ROOST_TLS_CACHE_MB (0: its default).
	TLSCacheMiB int
}

// Domains is what the domains benchmark seeds, starts and reads: the
// tenant store behind host routing, the dashboard's reads (also on a pool
// it configures, for EXPLAIN), the background passes, and `roost serve`
// and `roost work` processes of this executable.
type Domains struct {
	Env
	// Hosts answers host → site (tenant.Store.SiteByHost), as every node's
	// host cache loads it.
	Hosts tenant.Store
	// ReadsOn returns the dashboard's, portal's and NodeInfo's reads over
	// db.
	ReadsOn func(db *pgxpool.Pool) []DomainsRead
	// Passes are the background jobs' passes measured at this size.
	Passes []DomainsPass
	// Exe is the roost executable the nodes run.
	Exe string
	// DatabaseURL, RedisURL and RedisPrefix are the private servers'.
	DatabaseURL, RedisURL, RedisPrefix string
}

// DomainsRead is one page's reads: Run does what the page's handler asks
// of its stores, for the tenant (and its handle domain) given.
type DomainsRead struct {
	Name string
	Run  func(ctx context.Context, tenantID int64, domain string) error
}

// DomainsPass is one background job's full pass and its interval.
type DomainsPass struct {
	Name  string
	Every time.Duration
	Run   func(ctx context.Context) error
}

// DomainsResult is the benchmark's JSON line.
type DomainsResult struct {
	Bench      string  `json:"bench"`
	Count      int     `json:"count"`
	OwnDomains int     `json:"own_domains"`
	Subdomains int     `json:"subdomains"`
	Hostnames  int     `json:"hostnames"`
	Certs      int     `json:"certificates"`
	SeedS      float64 `json:"seed_s"`
	Load1Start string  `json:"loadavg_start"`
	Load1End   string  `json:"loadavg_end"`

	Serve NodeFigures `json:"serve"`
	Work  NodeFigures `json:"work"`

	Routing RoutingFigures `json:"routing"`
	TLS     TLSFigures     `json:"tls"`
	Pages   []PageFigures  `json:"pages"`
	Passes  []PassFigures  `json:"passes"`
	Renewal RenewalPlan    `json:"renewal_plan"`
	// SeqScans lists the pages whose queries scan a per-tenant table
	// whole (EXPLAIN with sequential scans discouraged); empty is the goal.
	SeqScans []string `json:"seq_scans"`
	// QueryCosts are each page's statements as the database ran them
	// (EXPLAIN ANALYZE through auto_explain): a page whose server time is
	// far below its p99 waited for a core, not for its queries.
	QueryCosts []QueryCost `json:"query_costs"`
}

// QueryCost is one page's database work, from its executed plans.
type QueryCost struct {
	Name       string  `json:"name"`
	Statements int     `json:"statements"`
	ServerMS   float64 `json:"server_ms"`
	// MaxRows is the most rows any plan node produced (times its loops);
	// Heavy names the sorts and aggregates over more than 1,000 rows.
	MaxRows int64    `json:"max_node_rows"`
	Heavy   []string `json:"heavy_nodes"`
}

// NodeFigures are one process kind's start-up time and memory.
type NodeFigures struct {
	StartS  float64 `json:"start_s"`
	RSSMiB  float64 `json:"rss_mib"`
	PeakMiB float64 `json:"peak_rss_mib,omitempty"`
}

// RoutingFigures are host → tenant lookups through a host cache.
type RoutingFigures struct {
	Entries         int     `json:"entries"`
	ColdPerS        float64 `json:"cold_per_s"`
	WarmNS          float64 `json:"warm_ns"`
	WarmPerS        float64 `json:"warm_per_s"`
	WarmCPUNS       float64 `json:"warm_cpu_ns"`
	FloorCPUNS      float64 `json:"plain_map_cpu_ns"`
	WarmParallelNS  float64 `json:"warm_parallel_ns"`
	CacheMiB        float64 `json:"cache_mib"`
	InvalidationP50 float64 `json:"invalidation_p50_ms"`
	InvalidationMax float64 `json:"invalidation_max_ms"`
	InvalidationN   int     `json:"invalidation_nodes"`
}

// TLSFigures are handshakes against a serve node with ROOST_TLS=self-signed.
type TLSFigures struct {
	WarmPerS       float64 `json:"warm_per_s"`
	ColdPerS       float64 `json:"cold_per_s"`
	ColdFailed     int     `json:"cold_failed"`
	ColdDBCalls    float64 `json:"cold_db_statements_per_handshake"`
	HeapPerCertKiB float64 `json:"heap_per_cached_cert_kib"`
	RSSMiB         float64 `json:"serve_rss_after_mib"`
	CacheCapacity  int     `json:"cache_capacity"`
	ColdHandshakes int     `json:"cold_handshakes"`
	// Mixed: handshakes for names drawn uniformly from every host name
	// (more than the cache holds at 100,000), after the cold run: the
	// steady state of cache churn and its database cost.
	MixedPerS    float64 `json:"all_names_per_s"`
	MixedFailed  int     `json:"all_names_failed"`
	MixedDBCalls float64 `json:"all_names_db_statements_per_handshake"`
}

// PageFigures are one page's read latencies.
type PageFigures struct {
	Name string  `json:"name"`
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
}

// PassFigures are one background pass at this size.
type PassFigures struct {
	Name     string  `json:"name"`
	EveryS   float64 `json:"every_s"`
	S        float64 `json:"s"`
	DBCalls  int64   `json:"db_statements"`
	DBRowsK  float64 `json:"db_rows_read_k"`
	Headroom float64 `json:"interval_headroom"`
}

// Run seeds o.Count tenants with certificates, starts the nodes, and
// measures. Progress goes to Env.Progress; the result is one line.
func (b Domains) Run(ctx context.Context, o DomainsOptions) (*DomainsResult, error) {
	if o.Count < 10 {
		return nil, fmt.Errorf("--count must be at least 10")
	}
	if o.OwnPercent < 0 || o.OwnPercent > 100 {
		return nil, fmt.Errorf("--own-percent must be 0 to 100")
	}
	res := &DomainsResult{Bench: "domains", Count: o.Count, Load1Start: loadavg()}
	out := b.progress()
	fmt.Fprintf(out, "seeding %d tenants, their domains, accounts and certificates...\n", o.Count)
	start := time.Now()
	world, err := seedDomains(ctx, b.DB, o, out)
	if err != nil {
		return nil, err
	}
	res.SeedS = round3(time.Since(start).Seconds())
	res.OwnDomains, res.Subdomains, res.Hostnames, res.Certs = world.own, o.Count-world.own, len(world.names), len(world.names)
	if _, err := b.DB.Exec(ctx, `analyze`); err != nil {
		return nil, err
	}

	fmt.Fprintln(out, "host routing in process...")
	if res.Routing, err = b.routing(ctx, world, o.Duration); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "starting serve and work nodes...")
	cluster, err := startDomainsCluster(b, o.Nodes, o.TLSCacheMiB)
	if err != nil {
		return nil, err
	}
	defer cluster.stop()
	res.Serve, res.Work = cluster.serve, cluster.work
	fmt.Fprintln(out, "invalidation across the nodes...")
	if err := b.invalidation(ctx, cluster, &res.Routing); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "TLS handshakes...")
	if res.TLS, err = b.handshakes(ctx, cluster, world, o); err != nil {
		return nil, err
	}
	res.Work.PeakMiB = max(res.Work.RSSMiB, rssMiB(cluster.procs[len(cluster.procs)-1].Process.Pid))
	cluster.stop()

	// The passes first: the meter's pass writes the usage rows the
	// billing pages read.
	fmt.Fprintln(out, "background passes...")
	if res.Passes, err = b.passes(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "dashboard, portal and NodeInfo reads...")
	if res.Pages, err = b.pages(ctx, world, o.Samples); err != nil {
		return nil, err
	}
	if res.SeqScans, err = b.seqScans(ctx, world); err != nil {
		return nil, err
	}
	if res.QueryCosts, err = b.queryCosts(ctx, world); err != nil {
		return nil, err
	}
	res.Renewal = PlanRenewals(RenewalInput{OwnNames: world.ownNames, BaseNames: o.Count - world.own,
		Wildcard: true, Renewals: world.renewals, NewPerDay: max(world.ownNames/365, 1), BudgetPer3h: certs.DefaultOrderLimit}, LetsEncrypt)
	res.Load1End = loadavg()
	return res, nil
}

// domainsWorld is what the seed made.
type domainsWorld struct {
	names    []string // every host name served, handle and service
	own      int      // tenants on their own domain
	ownNames int      // host names needing a certificate of their own
	tenants  []int64
	handles  []string // handle domain per tenant, same order
	renewals []time.Time
}

// seedDomains creates the tenants, verified domains (and their portal
// claims), one account each, and a certificate per host name in
// certmagic's storage layout, all set-based or with COPY.
func seedDomains(ctx context.Context, db *pgxpool.Pool, o DomainsOptions, out io.Writer) (*domainsWorld, error) {
	began := time.Now()
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	// Tenant i (0-based, by id) owns site<i>.test (a fifth of those with
	// social.site<i>.test) when i%100 < OwnPercent, else t<i>.<base>.
	// The certificates need only the names, so they are signed and copied
	// while the tenants are inserted: the seed takes the longer of the
	// two, not their sum.
	type certsDone struct {
		renewals []time.Time
		err      error
	}
	certCh := make(chan certsDone, 1)
	go func() {
		r, err := seedCerts(ctx, db, seedNames(o), o.BaseDomain, out)
		certCh <- certsDone{r, err}
	}()
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		steps := []struct {
			sql  string
			args []any
		}{
			{`create temporary table seed_t on commit drop as
				select i, 'Domains bench ' || i as name,
				  i % 100 < $2 as own,
				  case when i % 100 < $2 then 'site' || i || '.test' else 't' || i || '.' || $3 end as domain,
				  case when i % 100 < $2 and i % 5 = 0 then 'social.site' || i || '.test' end as service
				from generate_series(0, $1 - 1) i`, []any{o.Count, o.OwnPercent, o.BaseDomain}},
			{`insert into tenants (name, created_at) select name, now() - (i % 720) * interval '1 hour' from seed_t order by i`, nil},
			{`insert into domains (domain, tenant_id, service_domain, verification_token, verified_at)
				select s.domain, t.id, s.service, 'bench', now() from seed_t s join tenants t on t.name = s.name`, nil},
			{`insert into domain_claims (domain, kind, state, next_check_at, checked_at)
				select domain, case when not own then 'subdomain' when service is null then 'own' else 'split' end, 'verified',
				  case when own then now() + (i % 8640) * interval '10 seconds' end, now() from seed_t`, nil},
			{`insert into accounts (tenant_id, domain, username, display_name, public_key_pem, private_key_pem)
				select t.id, s.domain, 'user', 'User of ' || s.domain, $1, $2 from seed_t s join tenants t on t.name = s.name`,
				[]any{kp.PublicPEM, kp.PrivatePEM}},
		}
		for i, s := range steps {
			t0 := time.Now()
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
			fmt.Fprintf(out, "  seed step %d: %.1f s\n", i, time.Since(t0).Seconds())
		}
		return nil
	})
	if err != nil {
		<-certCh // its connection is back in the pool before the caller closes it
		return nil, err
	}
	w := &domainsWorld{}
	rows, err := db.Query(ctx, `select t.id, d.domain, coalesce(d.service_domain, ''), c.kind <> 'subdomain'
		from tenants t join domains d on d.tenant_id = t.id join domain_claims c on c.domain = d.domain
		where t.name like 'Domains bench %' order by t.id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var d, svc string
		var own bool
		if err := rows.Scan(&id, &d, &svc, &own); err != nil {
			rows.Close()
			return nil, err
		}
		w.tenants, w.handles, w.names = append(w.tenants, id), append(w.handles, d), append(w.names, d)
		if own {
			w.own++
			w.ownNames++
		}
		if svc != "" {
			w.names = append(w.names, svc)
			w.ownNames++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "  %d tenants, %d host names (%.1f s); certificates...\n", len(w.tenants), len(w.names), time.Since(began).Seconds())
	done := <-certCh
	if done.err != nil {
		return nil, done.err
	}
	w.renewals = done.renewals
	fmt.Fprintf(out, "  certificates stored (%.1f s)\n", time.Since(began).Seconds())
	return w, nil
}

// seedNames are the host names seedDomains creates, computed as its SQL
// computes them.
func seedNames(o DomainsOptions) []string {
	names := make([]string, 0, o.Count+o.Count/50)
	for i := range o.Count {
		if i%100 >= o.OwnPercent {
			names = append(names, "t"+strconv.Itoa(i)+"."+o.BaseDomain)
			continue
		}
		names = append(names, "site"+strconv.Itoa(i)+".test")
		if i%5 == 0 {
			names = append(names, "social.site"+strconv.Itoa(i)+".test")
		}
	}
	return names
}

// certLifetime is a Let's Encrypt certificate's (90 days).
const certLifetime = 90 * 24 * time.Hour

// seedCerts stores a certificate, key, metadata and status document per
// name under the local issuer, as ROOST_TLS=self-signed keeps them, signed
// by a local CA it stores too (so serve nodes use it). Certificates were
// issued at spread times over the last 60 days: none is due yet, and
// their renewals fall evenly over the next two months. It returns each
// own-domain certificate's renewal time (a third of its life left).
func seedCerts(ctx context.Context, db *pgxpool.Pool, names []string, base string, progress io.Writer) ([]time.Time, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Roost bench CA"},
		NotBefore: now.Add(-365 * 24 * time.Hour), NotAfter: now.AddDate(10, 0, 0),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	caKeyPEM, err := ecKeyPEM(caKey)
	if err != nil {
		return nil, err
	}
	// A small pool of leaf keys: signing, not key generation, is what a
	// certificate costs here, and nothing measured depends on distinct keys.
	var keys []*ecdsa.PrivateKey
	var keyPEMs [][]byte
	for range 8 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		p, err := ecKeyPEM(k)
		if err != nil {
			return nil, err
		}
		keys, keyPEMs = append(keys, k), append(keyPEMs, p)
	}
	issuer := certs.LocalIssuerKey
	var renewals []time.Time
	var mu sync.Mutex
	sign := func(lo int, part []string) ([][]any, error) {
		out := make([][][]any, len(part))
		var wg sync.WaitGroup
		var firstErr error
		workers := max(runtime.GOMAXPROCS(0), 2)
		for g := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := g; j < len(part); j += workers {
					name := part[j]
					i := lo + j
					issued := now.Add(-time.Duration(i%(60*24*12)) * 5 * time.Minute) // over 60 days, 5 minutes apart
					k := i % len(keys)
					tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i) + 2), Subject: pkix.Name{CommonName: name},
						DNSNames: []string{name}, NotBefore: issued, NotAfter: issued.Add(certLifetime),
						KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
					der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &keys[k].PublicKey, caKey)
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), caPEM...)
					meta, _ := json.Marshal(map[string][]string{"sans": {name}}) // certmagic's CertificateResource
					st, _ := json.Marshal(certs.Status{Name: name, Issuer: issuer, NotBefore: issued, NotAfter: issued.Add(certLifetime), UpdatedAt: now})
					out[j] = [][]any{
						{siteKey(issuer, name, ".crt"), chain, now},
						{siteKey(issuer, name, ".key"), keyPEMs[k], now},
						{siteKey(issuer, name, ".json"), meta, now},
						{"roost/status/" + name + ".json", st, now},
					}
					if !strings.HasSuffix(name, "."+base) {
						mu.Lock()
						renewals = append(renewals, issued.Add(certLifetime*2/3))
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		rows := make([][]any, 0, 4*len(part))
		for _, r := range out {
			rows = append(rows, r...)
		}
		return rows, firstErr
	}
	// Signing (this process's cores) and COPY (the database's) overlap:
	// batch k+1 is signed while batch k is copied.
	type signed struct {
		rows [][]any
		err  error
	}
	const batch = 5000
	batches := make(chan signed, 1)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(batches)
		for lo := 0; lo < len(names); lo += batch {
			rows, err := sign(lo, names[lo:min(lo+batch, len(names))])
			select {
			case batches <- signed{rows, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	first := [][]any{{certs.LocalCACertKey, caPEM, now}, {"roost/local-ca/ca.key", caKeyPEM, now}}
	var copying time.Duration
	for b := range batches {
		if b.err != nil {
			return nil, b.err
		}
		t0 := time.Now()
		if _, err := db.CopyFrom(ctx, pgx.Identifier{"cert_storage"}, []string{"key", "value", "modified"}, pgx.CopyFromRows(append(first, b.rows...))); err != nil {
			return nil, fmt.Errorf("copy certificates: %w", err)
		}
		copying += time.Since(t0)
		first = nil
	}
	fmt.Fprintf(progress, "  certificates: %d signed and copied (%.1f s in COPY)\n", len(names), copying.Seconds())
	return renewals, nil
}

// siteKey is where certmagic keeps a site's file (StorageKeys.SiteCert,
// SitePrivateKey, SiteMeta): certificates/<issuer>/<name>/<name><ext>.
// Seeded names are lower-case ASCII, which certmagic's Safe leaves as is.
func siteKey(issuer, name, ext string) string {
	return "certificates/" + issuer + "/" + name + "/" + name + ext
}

// ecKeyPEM encodes an ECDSA key as certmagic stores one (SEC 1, "EC
// PRIVATE KEY").
func ecKeyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// routing measures a host cache as every node has one: a cold pass that
// loads every name, then warm lookups, alone and in parallel, and the
// heap the cache holds.
func (b Domains) routing(ctx context.Context, w *domainsWorld, d time.Duration) (RoutingFigures, error) {
	f := RoutingFigures{Entries: len(w.names)}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cache := tenant.NewHostCache(b.Hosts, time.Hour, len(w.names)+1024)
	// Cold: every name once, 8 loads in flight (a node after a restart).
	start := time.Now()
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(w.names)); i = next.Add(1) - 1 {
				if _, err := cache.Resolve(ctx, w.names[i]); err != nil {
					failed.Store(fmt.Errorf("resolve %s: %w", w.names[i], err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return f, err
	}
	f.ColdPerS = round1(float64(len(w.names)) / time.Since(start).Seconds())
	runtime.GC()
	runtime.ReadMemStats(&after)
	f.CacheMiB = round3(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20))
	// Warm: names in a shuffled order, so the map's memory is touched as
	// real traffic touches it. On a machine other work keeps busy the
	// wall clock counts the time this thread waited for a core, so the
	// thread's own CPU time per lookup is reported beside it, and the
	// same loop over a plain map of the same names as the floor.
	order := mrand.Perm(len(w.names))
	runtime.LockOSThread()
	n, start, cpu0 := 0, time.Now(), threadCPU()
	for time.Since(start) < d {
		for range 10000 {
			if _, err := cache.Resolve(ctx, w.names[order[n%len(order)]]); err != nil {
				runtime.UnlockOSThread()
				return f, err
			}
			n++
		}
	}
	el, cpu := time.Since(start), threadCPU()-cpu0
	plain := make(map[string]*tenant.Site, len(w.names))
	for _, h := range w.names {
		plain[h] = &tenant.Site{}
	}
	m, cpu1, hits := 0, threadCPU(), 0
	for ; m < n; m++ {
		if plain[w.names[order[m%len(order)]]] != nil {
			hits++
		}
	}
	floor := threadCPU() - cpu1
	runtime.UnlockOSThread()
	f.WarmNS = round1(float64(el.Nanoseconds()) / float64(n))
	f.WarmPerS = round1(float64(n) / el.Seconds())
	f.WarmCPUNS = round1(float64(cpu.Nanoseconds()) / float64(n))
	f.FloorCPUNS = round1(float64(floor.Nanoseconds()) / float64(max(hits, 1)))
	procs := runtime.GOMAXPROCS(0)
	var total atomic.Int64
	start = time.Now()
	for g := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := 0
			for time.Since(start) < d {
				for range 10000 {
					_, _ = cache.Resolve(ctx, w.names[order[(m*procs+g)%len(order)]]) // warm: answers from memory
					m++
				}
			}
			total.Add(int64(m))
		}()
	}
	wg.Wait()
	f.WarmParallelNS = round1(float64(time.Since(start).Nanoseconds()) / float64(total.Load()))
	runtime.KeepAlive(cache)
	return f, nil
}

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_THREAD, &ru) // cannot fail for RUSAGE_THREAD on Linux
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// domainsCluster is the serve and work processes.
type domainsCluster struct {
	addrs     []string // plain HTTP of each serve node
	tlsAddr   string   // HTTPS of the first
	metrics   string   // the work node's ops listener
	procs     []*exec.Cmd
	dir       string
	serve     NodeFigures
	work      NodeFigures
	progress  io.Writer
	stopped   bool
	stopMutex sync.Mutex
}

// startDomainsCluster starts the first serve node alone (its start-up and
// memory are the figures; it serves HTTPS with ROOST_TLS=self-signed),
// then the other serve nodes and one work node.
func startDomainsCluster(b Domains, nodes, tlsCacheMiB int) (*domainsCluster, error) {
	dir, err := os.MkdirTemp("", "roost-domains-")
	if err != nil {
		return nil, err
	}
	c := &domainsCluster{dir: dir, progress: b.progress()}
	env := []string{"ROOST_DATABASE_URL=" + b.DatabaseURL, "ROOST_REDIS_URL=" + b.RedisURL,
		"ROOST_REDIS_PREFIX=" + b.RedisPrefix, "ROOST_URL_SCHEME=http", "ROOST_LOG_LEVEL=error", "ROOST_MEDIA_DIR=" + dir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOST_") {
			env = append(env, kv)
		}
	}
	start := func(cmd string, extra ...string) (*exec.Cmd, error) {
		p := exec.Command(b.Exe, cmd)
		p.Env = append(append([]string{}, env...), extra...)
		p.Stderr = c.progress
		if err := p.Start(); err != nil {
			return nil, err
		}
		c.procs = append(c.procs, p)
		return p, nil
	}
	for i := range max(nodes, 1) {
		addr, err := freeAddr("127.0.0.1")
		if err != nil {
			c.stop()
			return nil, err
		}
		extra := []string{"ROOST_HTTP_ADDR=" + addr} // /readyz on the web port
		if i == 0 {
			if c.tlsAddr, err = freeAddr("127.0.0.1"); err != nil {
				c.stop()
				return nil, err
			}
			redirect, err := freeAddr("127.0.0.1")
			if err != nil {
				c.stop()
				return nil, err
			}
			metrics, err := freeAddr("127.0.0.1")
			if err != nil {
				c.stop()
				return nil, err
			}
			extra = []string{"ROOST_TLS=self-signed", "ROOST_HTTPS_ADDR=" + c.tlsAddr, "ROOST_HTTP_REDIRECT_ADDR=" + redirect,
				"ROOST_METRICS_ADDR=" + metrics}
			if tlsCacheMiB > 0 {
				extra = append(extra, "ROOST_TLS_CACHE_MB="+strconv.Itoa(tlsCacheMiB))
			}
			addr = metrics
		}
		t0 := time.Now()
		p, err := start("serve", extra...)
		if err != nil {
			c.stop()
			return nil, err
		}
		if err := waitReady(addr, p.Process.Pid, 120*time.Second); err != nil {
			c.stop()
			return nil, fmt.Errorf("serve node %d: %w", i, err)
		}
		if i == 0 {
			c.serve = NodeFigures{StartS: round3(time.Since(t0).Seconds()), RSSMiB: rssMiB(p.Process.Pid)}
		} else {
			c.addrs = append(c.addrs, addr)
		}
	}
	if c.metrics, err = freeAddr("127.0.0.1"); err != nil {
		c.stop()
		return nil, err
	}
	t0 := time.Now()
	p, err := start("work", "ROOST_METRICS_ADDR="+c.metrics)
	if err != nil {
		c.stop()
		return nil, err
	}
	if err := waitReady(c.metrics, p.Process.Pid, 120*time.Second); err != nil {
		c.stop()
		return nil, fmt.Errorf("work node: %w", err)
	}
	c.work = NodeFigures{StartS: round3(time.Since(t0).Seconds()), RSSMiB: rssMiB(p.Process.Pid)}
	return c, nil
}

// waitReady polls addr's /readyz until it answers 200, the process pid
// has exited (its error is on stderr), or within has passed.
func waitReady(addr string, pid int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(st), ") Z ") {
			return fmt.Errorf("the process exited before %s was ready", addr)
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s never became ready", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *domainsCluster) stop() {
	c.stopMutex.Lock()
	defer c.stopMutex.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	for _, p := range c.procs {
		_ = p.Process.Signal(syscall.SIGTERM) // already gone: nothing to stop
	}
	for _, p := range c.procs {
		_ = p.Wait() // a node's exit status after SIGTERM says nothing here
	}
	_ = os.RemoveAll(c.dir) // the nodes' media directory, empty
}

// rssMiB is a process's resident set in MiB.
func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return round3(kb / 1024)
		}
	}
	return 0
}

// invalidation creates new tenants from this process (as a dashboard on
// another node would) and times how long every serve node takes to stop
// answering 404 for the name each had just cached as unknown.
func (b Domains) invalidation(ctx context.Context, c *domainsCluster, f *RoutingFigures) error {
	nodes := append([]string{}, c.addrs...)
	f.InvalidationN = len(nodes)
	if len(nodes) == 0 {
		return nil
	}
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(addr, host string) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/.well-known/nodeinfo", nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body) // the status is what is measured
		resp.Body.Close()
		return resp.StatusCode
	}
	var lat []time.Duration
	for k := range 10 {
		host := fmt.Sprintf("inval%d-%d.test", k, time.Now().UnixNano()%1e6)
		for _, a := range nodes {
			if s := get(a, host); s != 404 {
				return fmt.Errorf("node %s answered %d for an unknown host", a, s)
			}
		}
		t0 := time.Now()
		if _, err := b.Tenants.CreateTenant(ctx, "Invalidation "+strconv.Itoa(k), host, ""); err != nil {
			return err
		}
		var wg sync.WaitGroup
		seen := make([]time.Duration, len(nodes))
		for i, a := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(t0) < 10*time.Second && get(a, host) == 404 {
				}
				seen[i] = time.Since(t0)
			}()
		}
		wg.Wait()
		lat = append(lat, seen...)
	}
	f.InvalidationP50 = pct(lat, 50)
	f.InvalidationMax = pct(lat, 100)
	return nil
}

// handshakes runs TLS handshakes against the first serve node: warm over
// names whose certificates it holds, then cold over names it has never
// seen (certificate from storage, decision from the host cache or the
// database), from several loopback source addresses as many remote
// servers would come.
func (b Domains) handshakes(ctx context.Context, c *domainsCluster, w *domainsWorld, o DomainsOptions) (TLSFigures, error) {
	f := TLSFigures{CacheCapacity: certs.CacheCapacityFor(o.TLSCacheMiB)}
	pid := c.procs[0].Process.Pid
	perm := mrand.Perm(len(w.names))
	warm := perm[:min(500, len(perm)/4)]
	cold := perm[len(warm):]
	shake := func(i int, src int) error {
		d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+src%200))}}
		conn, err := tls.DialWithDialer(d, "tcp", c.tlsAddr, &tls.Config{ServerName: w.names[i], InsecureSkipVerify: true}) // #nosec G402 -- the bench's own CA
		if err != nil {
			return err
		}
		return conn.Close()
	}
	// The first handshake per name may be refused while the node rations
	// its host lookups; it is retried, paced, until it succeeds.
	for _, i := range warm {
		var err error
		for try := 0; try < 200; try++ {
			if err = shake(i, i+try); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			return f, fmt.Errorf("first handshake for %s: %w", w.names[i], err)
		}
	}
	conc := 4
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := g; time.Since(start) < o.Duration; k += conc {
				if shake(warm[k%len(warm)], k) == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	f.WarmPerS = round1(float64(n.Load()) / time.Since(start).Seconds())

	total := min(o.TLSCold, len(cold))
	calls0, err := dbStatements(ctx, b.DB)
	if err != nil {
		return f, err
	}
	var next, failed atomic.Int64
	n.Store(0)
	start = time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := next.Add(1) - 1; k < int64(total); k = next.Add(1) - 1 {
				if shake(cold[k], int(k)) == nil {
					n.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	calls1, err := dbStatements(ctx, b.DB)
	if err != nil {
		return f, err
	}
	f.ColdHandshakes, f.ColdFailed = total, int(failed.Load())
	if f.HeapPerCertKiB, err = certHeap(ctx, b.DB); err != nil {
		return f, err
	}
	f.ColdPerS = round1(float64(n.Load()) / el.Seconds())
	if total > 0 {
		f.ColdDBCalls = round3(float64(calls1-calls0) / float64(total))
	}
	// Every name, uniformly: at 100,000 names more than the cache holds,
	// so this is the churn a node sees when traffic touches every tenant.
	n.Store(0)
	failed.Store(0)
	start = time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(g), 20))
			for time.Since(start) < o.Duration {
				if shake(r.IntN(len(w.names)), r.IntN(200)) == nil {
					n.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	el = time.Since(start)
	calls2, err := dbStatements(ctx, b.DB)
	if err != nil {
		return f, err
	}
	f.MixedPerS, f.MixedFailed = round1(float64(n.Load())/el.Seconds()), int(failed.Load())
	f.MixedDBCalls = round3(float64(calls2-calls1) / float64(max(n.Load()+failed.Load(), 1)))
	f.RSSMiB = rssMiB(pid)
	return f, nil
}

// certHeap is the heap one certificate takes in memory as a node's
// certificate cache holds it (chain and key parsed, leaf decoded), over
// up to 2,000 stored certificates: a node's RSS moves too much with its
// other work to show it.
func certHeap(ctx context.Context, db *pgxpool.Pool) (float64, error) {
	rows, err := db.Query(ctx, `select c.value, k.value from cert_storage c
		join cert_storage k on k.key = left(c.key, -4) || '.key'
		where c.key like 'certificates/%.crt' limit 2000`)
	if err != nil {
		return 0, err
	}
	var pairs [][2][]byte
	for rows.Next() {
		var c, k []byte
		if err := rows.Scan(&c, &k); err != nil {
			rows.Close()
			return 0, err
		}
		pairs = append(pairs, [2][]byte{c, k})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(pairs) == 0 {
		return 0, err
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	held := make([]tls.Certificate, 0, len(pairs))
	for _, p := range pairs {
		c, err := tls.X509KeyPair(p[0], p[1])
		if err != nil {
			return 0, err
		}
		held = append(held, c)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(held)
	return round1(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / 1024 / float64(len(held))), nil
}

// dbStatements counts the transactions the database has committed (every
// pooled statement outside an explicit transaction is one).
func dbStatements(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	var n int64
	err := db.QueryRow(ctx, `select xact_commit from pg_stat_database where datname = current_database()`).Scan(&n)
	return n, err
}

// pages times each read, for tenants spread over the whole id range.
func (b Domains) pages(ctx context.Context, w *domainsWorld, samples int) ([]PageFigures, error) {
	var out []PageFigures
	for _, r := range b.ReadsOn(b.DB) {
		lat := make([]time.Duration, 0, samples)
		began := time.Now()
		for s := range samples {
			if s >= 5 && time.Since(began) > 20*time.Second {
				break // a page this slow has made its point
			}
			i := (s * 7919) % len(w.tenants)
			t0 := time.Now()
			if err := r.Run(ctx, w.tenants[i], w.handles[i]); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
			lat = append(lat, time.Since(t0))
		}
		out = append(out, PageFigures{Name: r.Name, N: len(lat), P50: pct(lat, 50), P99: pct(lat, 99)})
	}
	return out, nil
}

// perTenantTables are the tables with a row (or more) per tenant: a page
// that reads one whole scans all tenants.
var perTenantTables = map[string]bool{"tenants": true, "domains": true, "hostnames": true, "accounts": true,
	"domain_claims": true, "cert_storage": true, "usage_daily": true, "tenant_billing": true, "signups": true}

// seqScans runs every read once on a connection where auto_explain sends
// each statement's plan back as a notice and sequential scans are priced
// out (so a small table is not scanned just because it is small), and
// names the reads whose plans still scan a per-tenant table.
func (b Domains) seqScans(ctx context.Context, w *domainsWorld) ([]string, error) {
	p, take, err := b.explainPool(ctx, `set enable_seqscan = off`)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	found := []string{}
	i := len(w.tenants) / 2
	for _, r := range b.ReadsOn(p) {
		take()
		if err := r.Run(ctx, w.tenants[i], w.handles[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		scanned := map[string]bool{}
		for _, pl := range take() {
			for _, t := range seqScanned(pl) {
				if perTenantTables[t] {
					scanned[t] = true
				}
			}
		}
		var ts []string
		for t := range scanned {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		for _, t := range ts {
			found = append(found, r.Name+": "+t)
		}
	}
	return found, nil
}

// explainPool is a one-connection pool on which auto_explain sends each
// statement's plan back as a notice (with analyze: actual rows and
// times), and the notices collected so far.
func (b Domains) explainPool(ctx context.Context, settings string) (*pgxpool.Pool, func() []string, error) {
	pcfg := b.DB.Config().Copy()
	pcfg.MaxConns = 1
	var mu sync.Mutex
	var plans []string
	pcfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		plans = append(plans, n.Message)
		mu.Unlock()
	}
	pcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0;
			set auto_explain.log_format = json; set auto_explain.log_nested_statements = on;
			set auto_explain.log_level = notice; `+settings)
		return err
	}
	p, err := pgxpool.NewWithConfig(ctx, pcfg)
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := plans
		plans = nil
		return out
	}
	return p, take, err
}

// queryCosts runs every read once more with EXPLAIN ANALYZE (the plans
// the planner picks at this size) and sums what the server spent.
func (b Domains) queryCosts(ctx context.Context, w *domainsWorld) ([]QueryCost, error) {
	p, take, err := b.explainPool(ctx, `set auto_explain.log_analyze = on; set auto_explain.log_timing = on; set auto_explain.log_nested_statements = off`)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	var out []QueryCost
	i := len(w.tenants) / 3
	for _, r := range b.ReadsOn(p) {
		// Six runs first: the connection's caches are warm and PostgreSQL
		// has had its five custom plans, so the measured run uses the plan
		// a long-lived pool gets (a generic plan, when it picks one).
		for range 6 {
			if err := r.Run(ctx, w.tenants[i], w.handles[i]); err != nil {
				return nil, fmt.Errorf("%s: %w", r.Name, err)
			}
		}
		take()
		if err := r.Run(ctx, w.tenants[i], w.handles[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Name, err)
		}
		c := QueryCost{Name: r.Name, Heavy: []string{}}
		for _, pl := range take() {
			ms, rows, heavy := planCost(pl)
			c.Statements++
			c.ServerMS += ms
			c.MaxRows = max(c.MaxRows, rows)
			c.Heavy = append(c.Heavy, heavy...)
		}
		c.ServerMS = round3(c.ServerMS)
		out = append(out, c)
	}
	return out, nil
}

// planCost reads an auto_explain notice ("duration: D ms  plan:\n{…}"):
// the statement's duration, the most rows a node produced, and its sorts
// and aggregates over more than 1,000 rows.
func planCost(notice string) (ms float64, maxRows int64, heavy []string) {
	if rest, ok := strings.CutPrefix(notice, "duration: "); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			ms, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	i := strings.IndexByte(notice, '{')
	if i < 0 {
		return ms, 0, nil
	}
	var doc struct {
		Plan json.RawMessage `json:"Plan"`
	}
	if json.Unmarshal([]byte(notice[i:]), &doc) != nil {
		return ms, 0, nil
	}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var n struct {
			Type     string            `json:"Node Type"`
			Relation string            `json:"Relation Name"`
			Rows     float64           `json:"Actual Rows"`
			Loops    float64           `json:"Actual Loops"`
			Plans    []json.RawMessage `json:"Plans"`
		}
		if json.Unmarshal(raw, &n) != nil {
			return
		}
		rows := int64(n.Rows * max(n.Loops, 1))
		maxRows = max(maxRows, rows)
		if (n.Type == "Sort" || n.Type == "Aggregate" || n.Type == "Incremental Sort") && len(n.Plans) > 0 {
			var in struct {
				Rows  float64 `json:"Actual Rows"`
				Loops float64 `json:"Actual Loops"`
			}
			if json.Unmarshal(n.Plans[0], &in) == nil && in.Rows*max(in.Loops, 1) > 1000 {
				heavy = append(heavy, fmt.Sprintf("%s over %.0f rows", n.Type, in.Rows*max(in.Loops, 1)))
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc.Plan)
	return ms, maxRows, heavy
}

// seqScanned lists the relations a JSON plan (auto_explain's notice:
// "duration: … plan:\n{…}") reads with a sequential scan.
func seqScanned(notice string) []string {
	i := strings.IndexByte(notice, '{')
	if i < 0 {
		return nil
	}
	var doc struct {
		Plan json.RawMessage `json:"Plan"`
	}
	if json.Unmarshal([]byte(notice[i:]), &doc) != nil {
		return nil
	}
	var out []string
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var n struct {
			Type     string            `json:"Node Type"`
			Relation string            `json:"Relation Name"`
			Plans    []json.RawMessage `json:"Plans"`
		}
		if json.Unmarshal(raw, &n) != nil {
			return
		}
		if n.Type == "Seq Scan" {
			out = append(out, n.Relation)
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(doc.Plan)
	return out
}

// passes runs each background pass once and reports its time and the
// database work it did (statements and rows read, from pg_stat_database).
func (b Domains) passes(ctx context.Context) ([]PassFigures, error) {
	var out []PassFigures
	for _, p := range b.Passes {
		var x0, r0, x1, r1 int64
		q := `select xact_commit, tup_returned + tup_fetched from pg_stat_database where datname = current_database()`
		if err := b.DB.QueryRow(ctx, q).Scan(&x0, &r0); err != nil {
			return nil, err
		}
		t0 := time.Now()
		if err := p.Run(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		el := time.Since(t0)
		// The statistics collector publishes a backend's counts when its
		// transaction ends; a short pause lets the last ones land.
		time.Sleep(1500 * time.Millisecond)
		if err := b.DB.QueryRow(ctx, q).Scan(&x1, &r1); err != nil {
			return nil, err
		}
		out = append(out, PassFigures{Name: p.Name, EveryS: p.Every.Seconds(), S: round3(el.Seconds()),
			DBCalls: x1 - x0 - 1, DBRowsK: round1(float64(r1-r0) / 1000), Headroom: round1(p.Every.Seconds() / max(el.Seconds(), 0.001))})
	}
	return out, nil
}

// Table is the result as a human-readable table.
func (r *DomainsResult) Table() string {
	var s strings.Builder
	fmt.Fprintf(&s, "roost bench domains: %d tenants (%d own domains, %d subdomains), %d host names and certificates, seeded in %.1f s; load %s → %s\n",
		r.Count, r.OwnDomains, r.Subdomains, r.Hostnames, r.SeedS, r.Load1Start, r.Load1End)
	row := func(k, v, target string) { fmt.Fprintf(&s, "  %-44s %-26s %s\n", k, v, target) }
	row("serve start-up / RSS", fmt.Sprintf("%.2f s / %.0f MiB", r.Serve.StartS, r.Serve.RSSMiB), "≤ 10 s / ≤ 500 MB")
	row("work start-up / RSS (peak)", fmt.Sprintf("%.2f s / %.0f MiB (%.0f)", r.Work.StartS, r.Work.RSSMiB, r.Work.PeakMiB), "")
	row("routing warm, CPU per lookup (plain map)", fmt.Sprintf("%.0f ns (%.0f ns)", r.Routing.WarmCPUNS, r.Routing.FloorCPUNS), "≤ 1 µs")
	row("routing warm, wall (1 core / parallel)", fmt.Sprintf("%.0f ns / %.0f ns", r.Routing.WarmNS, r.Routing.WarmParallelNS), "")
	row("routing cold", fmt.Sprintf("%.0f lookups/s", r.Routing.ColdPerS), "")
	row("host cache memory", fmt.Sprintf("%.1f MiB for %d", r.Routing.CacheMiB, r.Routing.Entries), "")
	row("invalidation p50 / max", fmt.Sprintf("%.1f / %.1f ms (%d nodes)", r.Routing.InvalidationP50, r.Routing.InvalidationMax, r.Routing.InvalidationN), "")
	row("TLS handshakes warm / cold", fmt.Sprintf("%.0f/s / %.0f/s (%d failed)", r.TLS.WarmPerS, r.TLS.ColdPerS, r.TLS.ColdFailed), "")
	row("TLS cold: DB transactions per handshake", fmt.Sprintf("%.2f", r.TLS.ColdDBCalls), "")
	row("TLS over all names (cache churn)", fmt.Sprintf("%.0f/s (%d failed), %.2f DB tx each", r.TLS.MixedPerS, r.TLS.MixedFailed, r.TLS.MixedDBCalls), "")
	row("TLS heap per cached certificate", fmt.Sprintf("%.1f KiB (cache %d; RSS after %.0f MiB)", r.TLS.HeapPerCertKiB, r.TLS.CacheCapacity, r.TLS.RSSMiB), "")
	for _, p := range r.Pages {
		row("page "+p.Name+" p50 / p99", fmt.Sprintf("%.2f / %.2f ms", p.P50, p.P99), "p99 ≤ 100 ms")
	}
	for _, p := range r.Passes {
		row("pass "+p.Name, fmt.Sprintf("%.2f s of %.0f s, %d stmts, %.0fk rows", p.S, p.EveryS, p.DBCalls, p.DBRowsK), "within interval")
	}
	fmt.Fprintf(&s, "  sequential scans of per-tenant tables: %d %v\n", len(r.SeqScans), r.SeqScans)
	for _, c := range r.QueryCosts {
		row("queries of "+c.Name, fmt.Sprintf("%d stmts, %.2f ms on the server, ≤ %d rows/node %v", c.Statements, c.ServerMS, c.MaxRows, c.Heavy), "")
	}
	s.WriteString(r.Renewal.Table())
	return s.String()
}
