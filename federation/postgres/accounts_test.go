package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const testPassword = "correct horse battery staple"

// One key pair and one bcrypt hash per test binary: both are slow to make
// and no test here depends on them being unique (except
// TestTwoTenantsSameUsername, which makes its own keys).
var (
	sharedOnce sync.Once
	sharedKeys federation.KeyPair
	sharedHash string
	sharedErr  error
)

func shared(t *testing.T) (federation.KeyPair, string) {
	t.Helper()
	sharedOnce.Do(func() {
		if sharedKeys, sharedErr = federation.GenerateKeyPair(); sharedErr != nil {
			return
		}
		sharedHash, sharedErr = tenant.HashPassword(testPassword)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedKeys, sharedHash
}

// newTenant creates a tenant whose verified handle domain is domain.
func newTenant(t *testing.T, db *pgxpool.Pool, domain string) *tenant.Tenant {
	t.Helper()
	tn, err := tenantpg.New(db).CreateTenant(context.Background(), "tenant "+domain,
		tenant.NewDomain{Domain: domain, Verified: true})
	if err != nil {
		t.Fatalf("create tenant %s: %v", domain, err)
	}
	return tn
}

// newAccount is a valid NewAccount for a new login.
func newAccount(t *testing.T, tenantID int64, domain, username, email string) federation.NewAccount {
	t.Helper()
	keys, hash := shared(t)
	return federation.NewAccount{
		TenantID:     tenantID,
		Domain:       domain,
		Username:     username,
		DisplayName:  "Display " + username,
		Email:        email,
		PasswordHash: hash,
		Password:     testPassword,
		Keys:         keys,
	}
}

func mustCreate(t *testing.T, s *fedpg.Store, n federation.NewAccount) *federation.Account {
	t.Helper()
	a, err := s.CreateAccount(context.Background(), n)
	if err != nil {
		t.Fatalf("CreateAccount(%s@%s): %v", n.Username, n.Domain, err)
	}
	return a
}

func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

type rowCounts struct{ users, accounts, links int64 }

func counts(t *testing.T, db *pgxpool.Pool) rowCounts {
	t.Helper()
	return rowCounts{
		users:    count(t, db, `select count(*) from users`),
		accounts: count(t, db, `select count(*) from accounts`),
		links:    count(t, db, `select count(*) from user_accounts`),
	}
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("err = %v (code %s), want code %s", err, got, code)
	}
}

func TestCreateAccountAndLookup(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	tn := newTenant(t, db, "alice.example")
	keys, hash := shared(t)

	created := mustCreate(t, s, newAccount(t, tn.ID, "alice.example", "Alice_1", "alice@example.com"))
	if created.ID == 0 {
		t.Error("created account has no ID")
	}
	if created.TenantID != tn.ID || created.Domain != "alice.example" || created.Username != "Alice_1" {
		t.Errorf("created = tenant %d %s@%s, want tenant %d Alice_1@alice.example",
			created.TenantID, created.Username, created.Domain, tn.ID)
	}
	if created.DisplayName != "Display Alice_1" {
		t.Errorf("DisplayName = %q", created.DisplayName)
	}
	if created.PublicKeyPEM != keys.PublicPEM || created.PrivateKeyPEM != keys.PrivatePEM {
		t.Error("stored key pair differs from the one given")
	}
	if created.CreatedAt.IsZero() {
		t.Error("CreatedAt is zero")
	}
	// Column defaults.
	if created.Locked || created.Bot || !created.Discoverable || created.Note != "" ||
		created.AvatarURL != "" || created.HeaderURL != "" {
		t.Errorf("defaults: locked=%v bot=%v discoverable=%v note=%q avatar=%q header=%q",
			created.Locked, created.Bot, created.Discoverable, created.Note, created.AvatarURL, created.HeaderURL)
	}

	for _, name := range []string{"Alice_1", "alice_1", "ALICE_1", "aLiCe_1"} {
		got, err := s.AccountByUsername(ctx, tn.ID, "alice.example", name)
		if err != nil {
			t.Errorf("AccountByUsername(%q): %v", name, err)
			continue
		}
		if got.ID != created.ID || got.Username != "Alice_1" || got.Domain != created.Domain ||
			got.TenantID != created.TenantID || got.DisplayName != created.DisplayName ||
			got.PublicKeyPEM != created.PublicKeyPEM || got.PrivateKeyPEM != created.PrivateKeyPEM ||
			!got.CreatedAt.Equal(created.CreatedAt) {
			t.Errorf("AccountByUsername(%q) = %+v, want %+v", name, got, created)
		}
	}

	for _, name := range []string{"bob", "", "Alice_", "Alice_1 ", "Alice_%"} {
		_, err := s.AccountByUsername(ctx, tn.ID, "alice.example", name)
		if errs.CodeOf(err) != errs.NotFound {
			t.Errorf("AccountByUsername(%q) err = %v, want %s", name, err, errs.NotFound)
		}
	}

	// The new login holds the given hash and owns the account.
	var storedHash string
	var owner int64
	err := db.QueryRow(ctx, `select u.password_hash, u.id from users u
		join user_accounts ua on ua.user_id = u.id where ua.account_id = $1`, created.ID).Scan(&storedHash, &owner)
	if err != nil {
		t.Fatalf("owning login: %v", err)
	}
	if storedHash != hash {
		t.Errorf("stored password hash %q, want the given one", storedHash)
	}
	if c := counts(t, db); c != (rowCounts{users: 1, accounts: 1, links: 1}) {
		t.Errorf("rows = %+v, want one of each", c)
	}
}

func TestCreateAccountTrimsUsername(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	s := fedpg.New(db)
	tn := newTenant(t, db, "trim.example")
	a := mustCreate(t, s, newAccount(t, tn.ID, "trim.example", "  bob \n", "bob@example.com"))
	if a.Username != "bob" {
		t.Errorf("Username = %q, want %q", a.Username, "bob")
	}
	if _, err := s.AccountByUsername(context.Background(), tn.ID, "trim.example", "bob"); err != nil {
		t.Errorf("AccountByUsername(bob): %v", err)
	}
}

func TestTwoTenantsSameUsername(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	ta := newTenant(t, db, "a.example")
	tb := newTenant(t, db, "b.example")

	// Each actor has its own keys.
	keysA, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	keysB, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	na := newAccount(t, ta.ID, "a.example", "alice", "alice-a@example.com")
	na.Keys = keysA
	nb := newAccount(t, tb.ID, "b.example", "alice", "alice-b@example.com")
	nb.Keys = keysB
	a := mustCreate(t, s, na)
	b := mustCreate(t, s, nb)

	if a.ID == b.ID {
		t.Fatal("both tenants' alice are the same row")
	}
	if a.TenantID != ta.ID || b.TenantID != tb.ID || a.Domain != "a.example" || b.Domain != "b.example" {
		t.Errorf("a = tenant %d %s, b = tenant %d %s", a.TenantID, a.Domain, b.TenantID, b.Domain)
	}
	if a.PublicKeyPEM == b.PublicKeyPEM || a.PrivateKeyPEM == b.PrivateKeyPEM {
		t.Error("both alices share a key")
	}

	gotA, err := s.AccountByUsername(ctx, ta.ID, "a.example", "alice")
	if err != nil || gotA.ID != a.ID || gotA.PublicKeyPEM != keysA.PublicPEM {
		t.Errorf("AccountByUsername(A, a.example) = %+v, %v; want a's row with a's key", gotA, err)
	}
	gotB, err := s.AccountByUsername(ctx, tb.ID, "b.example", "alice")
	if err != nil || gotB.ID != b.ID || gotB.PublicKeyPEM != keysB.PublicPEM {
		t.Errorf("AccountByUsername(B, b.example) = %+v, %v; want b's row with b's key", gotB, err)
	}

	// Tenant isolation: a tenant never sees another tenant's domain.
	_, err = s.AccountByUsername(ctx, ta.ID, "b.example", "alice")
	wantCode(t, err, errs.NotFound)
	_, err = s.AccountByUsername(ctx, tb.ID, "a.example", "alice")
	wantCode(t, err, errs.NotFound)
	_, err = s.AccountByUsername(ctx, tb.ID+ta.ID+1000, "a.example", "alice")
	wantCode(t, err, errs.NotFound)
}

func TestCreateAccountOnOtherTenantsDomain(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	ta := newTenant(t, db, "a.example")
	tb := newTenant(t, db, "b.example")

	before := counts(t, db)
	tests := []struct{ name, domain string }{
		{"another tenant's domain", "b.example"},
		{"an unknown domain", "nowhere.example"},
		{"a different-case own domain", "A.EXAMPLE"},
	}
	for _, tt := range tests {
		_, err := s.CreateAccount(ctx, newAccount(t, ta.ID, tt.domain, "mallory", "mallory@example.com"))
		if errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%s: err = %v, want %s", tt.name, err, errs.NotFound)
		}
	}
	// Nothing written, not even the login (created before the domain check).
	if after := counts(t, db); after != before {
		t.Errorf("rows changed from %+v to %+v", before, after)
	}
	if n := count(t, db, `select count(*) from users where email = 'mallory@example.com'`); n != 0 {
		t.Errorf("%d logins for mallory, want 0", n)
	}
	_, err := s.AccountByUsername(ctx, tb.ID, "b.example", "mallory")
	wantCode(t, err, errs.NotFound)

	// The login can still be created afterwards on the right domain.
	mustCreate(t, s, newAccount(t, ta.ID, "a.example", "mallory", "mallory@example.com"))
	if c := counts(t, db); c != (rowCounts{users: 1, accounts: 1, links: 1}) {
		t.Errorf("rows = %+v, want one of each", c)
	}
}

func TestCreateAccountOnServiceDomain(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "svc", tenant.NewDomain{
		Domain: "carol.example", ServiceDomain: "social.carol.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	// Accounts belong to the handle domain; the service domain is not one.
	_, err = s.CreateAccount(ctx, newAccount(t, tn.ID, "social.carol.example", "carol", "carol@example.com"))
	wantCode(t, err, errs.NotFound)
	if c := counts(t, db); c != (rowCounts{}) {
		t.Errorf("rows = %+v, want none", c)
	}
	a := mustCreate(t, s, newAccount(t, tn.ID, "carol.example", "carol", "carol@example.com"))
	if a.Domain != "carol.example" {
		t.Errorf("Domain = %q, want the handle domain", a.Domain)
	}
}

func TestDuplicateUsernameConflict(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	tn := newTenant(t, db, "dup.example")
	first := mustCreate(t, s, newAccount(t, tn.ID, "dup.example", "alice", "first@example.com"))
	before := counts(t, db)

	for _, name := range []string{"alice", "ALICE", "Alice"} {
		_, err := s.CreateAccount(ctx, newAccount(t, tn.ID, "dup.example", name, "second@example.com"))
		if errs.CodeOf(err) != errs.Conflict {
			t.Errorf("CreateAccount(%q) err = %v, want %s", name, err, errs.Conflict)
		}
	}
	// The login made for the failed account was rolled back.
	if after := counts(t, db); after != before {
		t.Errorf("rows changed from %+v to %+v", before, after)
	}
	if n := count(t, db, `select count(*) from users where email = 'second@example.com'`); n != 0 {
		t.Errorf("%d logins for second@example.com, want 0", n)
	}
	got, err := s.AccountByUsername(ctx, tn.ID, "dup.example", "ALICE")
	if err != nil || got.ID != first.ID || got.Username != "alice" {
		t.Errorf("AccountByUsername = %+v, %v; want the first account unchanged", got, err)
	}

	// The same login taking a taken name conflicts too, and gains nothing.
	_, err = s.CreateAccount(ctx, newAccount(t, tn.ID, "dup.example", "Alice", "first@example.com"))
	wantCode(t, err, errs.Conflict)
	if after := counts(t, db); after != before {
		t.Errorf("rows changed from %+v to %+v", before, after)
	}
}

func TestSameEmailOwnsAccountsOnTwoTenants(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	ta := newTenant(t, db, "home.example")
	tb := newTenant(t, db, "work.example")
	_, hash := shared(t)

	a := mustCreate(t, s, newAccount(t, ta.ID, "home.example", "sam", "sam@example.com"))
	// Second account: the login exists, so the password is checked and the
	// hash given is ignored. The email matches case-insensitively.
	nb := newAccount(t, tb.ID, "work.example", "samuel", "Sam@Example.COM")
	nb.PasswordHash = "not-a-bcrypt-hash"
	b := mustCreate(t, s, nb)

	if c := counts(t, db); c != (rowCounts{users: 1, accounts: 2, links: 2}) {
		t.Errorf("rows = %+v, want 1 user owning 2 accounts", c)
	}
	var userID int64
	var email, storedHash string
	if err := db.QueryRow(ctx, `select id, email, password_hash from users`).Scan(&userID, &email, &storedHash); err != nil {
		t.Fatal(err)
	}
	if email != "sam@example.com" {
		t.Errorf("login email = %q, want the first-given spelling", email)
	}
	if storedHash != hash {
		t.Errorf("login password hash was replaced with %q", storedHash)
	}
	rows, err := db.Query(ctx, `select account_id from user_accounts where user_id = $1 order by account_id`, userID)
	if err != nil {
		t.Fatal(err)
	}
	var owned []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		owned = append(owned, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(owned) != 2 || owned[0] != min(a.ID, b.ID) || owned[1] != max(a.ID, b.ID) {
		t.Errorf("login owns %v, want [%d %d]", owned, a.ID, b.ID)
	}
	if a.TenantID == b.TenantID {
		t.Error("both accounts on one tenant")
	}
}

func TestSameEmailWrongPassword(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	ta := newTenant(t, db, "home.example")
	tb := newTenant(t, db, "work.example")
	mustCreate(t, s, newAccount(t, ta.ID, "home.example", "sam", "sam@example.com"))
	before := counts(t, db)

	for _, pw := range []string{"wrong password!", ""} {
		n := newAccount(t, tb.ID, "work.example", "sam", "SAM@example.com")
		n.Password = pw
		_, err := s.CreateAccount(ctx, n)
		want := errs.Forbidden
		if pw == "" {
			want = errs.Invalid // refused before the login is even looked up
		}
		if errs.CodeOf(err) != want {
			t.Errorf("password %q: err = %v, want %s", pw, err, want)
		}
	}
	if after := counts(t, db); after != before {
		t.Errorf("rows changed from %+v to %+v", before, after)
	}
	_, err := s.AccountByUsername(ctx, tb.ID, "work.example", "sam")
	wantCode(t, err, errs.NotFound)
}

func TestUsageCountsOnlyTheTenant(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	ta := newTenant(t, db, "a.example")
	tb := newTenant(t, db, "b.example")
	tc := newTenant(t, db, "c.example")

	for i, name := range []string{"one", "two", "three"} {
		mustCreate(t, s, newAccount(t, ta.ID, "a.example", name, fmt.Sprintf("a%d@example.com", i)))
	}
	mustCreate(t, s, newAccount(t, tb.ID, "b.example", "one", "b0@example.com"))

	for _, tt := range []struct {
		tenantID int64
		want     int64
	}{{ta.ID, 3}, {tb.ID, 1}, {tc.ID, 0}, {tc.ID + 1000, 0}} {
		u, err := s.Usage(ctx, tt.tenantID)
		if err != nil {
			t.Fatalf("Usage(%d): %v", tt.tenantID, err)
		}
		if u.Users != tt.want {
			t.Errorf("Usage(%d).Users = %d, want %d", tt.tenantID, u.Users, tt.want)
		}
	}
}

func TestCreateAccountInvalid(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	tn := newTenant(t, db, "inv.example")

	tests := []struct {
		name   string
		mutate func(*federation.NewAccount)
	}{
		{"empty username", func(n *federation.NewAccount) { n.Username = "" }},
		{"username with dot", func(n *federation.NewAccount) { n.Username = "al.ice" }},
		{"username with at", func(n *federation.NewAccount) { n.Username = "alice@inv.example" }},
		{"username too long", func(n *federation.NewAccount) { n.Username = strings.Repeat("a", 31) }},
		{"non-ASCII username", func(n *federation.NewAccount) { n.Username = "alicé" }},
		{"display name too long", func(n *federation.NewAccount) { n.DisplayName = strings.Repeat("x", 101) }},
		{"no keys", func(n *federation.NewAccount) { n.Keys = federation.KeyPair{} }},
	}
	for _, tt := range tests {
		n := newAccount(t, tn.ID, "inv.example", "alice", "alice@example.com")
		tt.mutate(&n)
		_, err := s.CreateAccount(ctx, n)
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: err = %v, want %s", tt.name, err, errs.Invalid)
		}
	}
	if c := counts(t, db); c != (rowCounts{}) {
		t.Errorf("rows = %+v, want none", c)
	}
}

// TestConcurrentSameUsername: of several simultaneous creations of one
// name, exactly one wins and the rest conflict, leaving no stray logins.
func TestConcurrentSameUsername(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	tn := newTenant(t, db, "race.example")

	const n = 6
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		na := newAccount(t, tn.ID, "race.example", []string{"racer", "RACER", "Racer"}[i%3], fmt.Sprintf("racer%d@example.com", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateAccount(ctx, na)
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	var ok, conflict int
	for err := range errc {
		switch {
		case err == nil:
			ok++
		case errs.CodeOf(err) == errs.Conflict:
			conflict++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflict != n-1 {
		t.Errorf("%d created, %d conflicts; want 1 and %d", ok, conflict, n-1)
	}
	if c := counts(t, db); c != (rowCounts{users: 1, accounts: 1, links: 1}) {
		t.Errorf("rows = %+v, want one of each", c)
	}
}

// TestConcurrentSameEmail: simultaneous first accounts for one new email
// on different tenants either succeed (attaching to the login) or ask to
// retry; there is never more than one login for the email.
func TestConcurrentSameEmail(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)

	const n = 4
	accts := make([]federation.NewAccount, n)
	for i := range n {
		domain := fmt.Sprintf("t%d.example", i)
		tn := newTenant(t, db, domain)
		accts[i] = newAccount(t, tn.ID, domain, "pat", "pat@example.com")
	}
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for _, na := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateAccount(ctx, na)
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	var ok int64
	for err := range errc {
		switch {
		case err == nil:
			ok++
		case errs.CodeOf(err) == errs.Conflict:
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok == 0 {
		t.Fatal("no creation succeeded")
	}
	if c := counts(t, db); c != (rowCounts{users: 1, accounts: ok, links: ok}) {
		t.Errorf("rows = %+v, want 1 login owning %d accounts", c, ok)
	}
}
