package postgres

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
	"github.com/roost-social/roost/tenant/verify/dnstest"
)

var signupT0 = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

type signupFixture struct {
	db      *pgxpool.Pool
	tenants *Store
	store   *SignupStore
	signups *verify.Signups
	dns     *dnstest.Server
	now     time.Time
	mu      sync.Mutex
}

func (f *signupFixture) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *signupFixture) set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

func newSignups(t *testing.T, mode verify.Mode) *signupFixture {
	t.Helper()
	db := testenv.DB(t)
	f := &signupFixture{db: db, tenants: New(db), store: NewSignupStore(db), dns: dnstest.Start(t), now: signupT0}
	checker := &verify.Checker{DNS: &verify.Server{Addr: f.dns.Addr, Timeout: 2 * time.Second}, Store: f.store,
		Target: verify.Target{IPv4: netip.MustParseAddr("198.51.100.7"), Hostname: "roost.test", Scheme: "https"}, Now: f.Now}
	f.signups = &verify.Signups{Store: f.store, Checker: checker, Mode: mode, BaseDomain: "roost.test",
		PortalHost: "portal.roost.test", Now: f.Now}
	return f
}

func (f *signupFixture) start(t *testing.T, email string) *verify.Signup {
	t.Helper()
	sg, err := f.signups.Start(context.Background(), verify.StartForm{Name: "Site of " + email, Email: email,
		Password: "long enough password", AcceptRules: true})
	if err != nil {
		t.Fatalf("Start(%s): %v", email, err)
	}
	return sg
}

func wantField(t *testing.T, err error, field, contains string) {
	t.Helper()
	var fe verify.FieldErrors
	if !errors.As(err, &fe) || !strings.Contains(fe[field], contains) {
		t.Fatalf("error %v; want field %s containing %q", err, field, contains)
	}
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("FieldErrors is not errs.Invalid: %v", err)
	}
}

func TestSignupResubmitFindsTheSameSignup(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	a := f.start(t, "alice@alice.test")
	b := f.start(t, "Alice@alice.test")
	if a.TenantID != b.TenantID || a.UserID != b.UserID || a.TenantStatus != tenant.Active {
		t.Fatalf("re-submit made another signup: %+v %+v", a, b)
	}
	_, err := f.signups.Start(ctx, verify.StartForm{Name: "X", Email: "alice@alice.test", Password: "another password", AcceptRules: true})
	wantField(t, err, "email", "cannot start a site") // says nothing of the login (issue 14 finding 8)
	_, err = f.signups.Start(ctx, verify.StartForm{Name: "", Email: "nope", Password: "short"})
	var fe verify.FieldErrors
	if !errors.As(err, &fe) || fe["name"] == "" || fe["email"] == "" || fe["password"] == "" || fe["rules"] == "" {
		t.Fatalf("every field's error: %v", err)
	}
	if n := count(t, f.db, "tenants"); n != 1 {
		t.Fatalf("%d tenants", n)
	}
	// Signing in finds it; a wrong password does not say which was wrong.
	sg, err := f.signups.Login(ctx, "ALICE@alice.test", "long enough password")
	if err != nil || sg.TenantID != a.TenantID {
		t.Fatalf("Login: %v %+v", err, sg)
	}
	_, err = f.signups.Login(ctx, "alice@alice.test", "wrong password")
	wantField(t, err, "email", "Wrong email or password")
	_, err = f.signups.Login(ctx, "nobody@alice.test", "wrong password")
	wantField(t, err, "email", "Wrong email or password")
}

// The same form submitted eight times at once (a double click, a flaky
// connection) creates one login, one tenant, one signup.
func TestSignupConcurrentDoubleSubmitCreatesOneTenant(t *testing.T) {
	f := newSignups(t, verify.Open)
	var wg sync.WaitGroup
	results := make([]*verify.Signup, 8)
	failures := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], failures[i] = f.signups.Start(context.Background(), verify.StartForm{Name: "Club", Email: "club@club.test",
				Password: "long enough password", AcceptRules: true})
		}()
	}
	wg.Wait()
	for i, err := range failures {
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		if results[i].TenantID != results[0].TenantID {
			t.Fatalf("submit %d got tenant %d, submit 0 tenant %d", i, results[i].TenantID, results[0].TenantID)
		}
	}
	for _, table := range []string{"tenants", "users", "signups"} {
		if n := count(t, f.db, table); n != 1 {
			t.Errorf("%d %s", n, table)
		}
	}
	// And one claim for a double-submitted domain form.
	sg := results[0]
	claims := make([]*verify.Claim, 4)
	for i := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i], failures[i] = f.signups.ChooseOwn(context.Background(), sg, "club.test")
		}()
	}
	wg.Wait()
	for i := range claims {
		if failures[i] != nil || claims[i].Token != claims[0].Token {
			t.Fatalf("claim %d: %v", i, failures[i])
		}
	}
	if n := count(t, f.db, "domain_claims"); n != 1 {
		t.Fatalf("%d claims", n)
	}
}

func TestSignupDuplicateClaimsRefused(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	alice, bob := f.start(t, "alice@mail.test"), f.start(t, "bob@mail.test")
	c, err := f.signups.ChooseOwn(ctx, alice, "Alice.Test.")
	if err != nil || c.Domain != "alice.test" || c.State != verify.Pending || !c.ExpiresAt.Equal(signupT0.Add(24*time.Hour)) {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if !strings.HasPrefix(c.Token, "roost-") || len(c.Token) < 30 {
		t.Fatalf("token %q", c.Token)
	}
	again, err := f.signups.ChooseOwn(ctx, alice, "alice.test")
	if err != nil || again.Token != c.Token {
		t.Fatalf("the same claim again: %v", err)
	}
	_, err = f.signups.ChooseOwn(ctx, bob, "alice.test")
	wantField(t, err, "domain", "alice.test is already used by another site")
	_, err = f.signups.ChooseSplit(ctx, bob, "bob.test", "alice.test")
	wantField(t, err, "service", "alice.test is already used by another site")
	_, err = f.signups.ChooseOwn(ctx, alice, "other.test")
	wantField(t, err, "domain", "already has the domain alice.test")

	// Given up, the name is free for bob; alice may choose another.
	sg, _ := f.store.Signup(ctx, alice.UserID)
	if err := f.signups.Release(ctx, sg); err != nil {
		t.Fatal(err)
	}
	if _, err := f.signups.ChooseOwn(ctx, bob, "alice.test"); err != nil {
		t.Fatalf("released name: %v", err)
	}
	if _, err := f.signups.ChooseSubdomain(ctx, sg, "alice"); err != nil {
		t.Fatalf("subdomain after release: %v", err)
	}
	sg, _ = f.store.Signup(ctx, alice.UserID)
	if sg.Claim == nil || sg.Claim.Domain != "alice.roost.test" || sg.Claim.State != verify.Verified {
		t.Fatalf("subdomain claim %+v", sg.Claim)
	}
	wantSite(t, f.tenants, "alice.roost.test", tenant.Site{TenantID: alice.TenantID, TenantName: alice.TenantName,
		Status: tenant.Active, Domain: "alice.roost.test"})
}

func TestSignupAnotherTenantsDomainRefused(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	create(t, f.tenants, "Carol", "carol.test", "social.carol.test")
	sg := f.start(t, "eve@mail.test")
	_, err := f.signups.ChooseOwn(ctx, sg, "carol.test")
	wantField(t, err, "domain", "carol.test is already used by another site")
	_, err = f.signups.ChooseOwn(ctx, sg, "social.carol.test")
	wantField(t, err, "domain", "social.carol.test is already used by another site")
	_, err = f.signups.ChooseSplit(ctx, sg, "eve.test", "social.carol.test")
	wantField(t, err, "service", "social.carol.test is already used by another site")
	// The instance's own names are not anyone's "own domain".
	for _, d := range []string{"roost.test", "carol.roost.test", "portal.roost.test"} {
		_, err = f.signups.ChooseOwn(ctx, sg, d)
		wantField(t, err, "domain", "belongs to this server")
	}
	_, err = f.signups.ChooseSplit(ctx, sg, "eve.test", "social.roost.test")
	wantField(t, err, "service", "belongs to this server")
	_, err = f.signups.ChooseOwn(ctx, sg, "co.uk")
	wantField(t, err, "domain", "public suffix")
	for _, l := range []string{"www", "portal", "a.b", "-x", ""} {
		_, err = f.signups.ChooseSubdomain(ctx, sg, l)
		wantField(t, err, "label", "")
	}
	_, err = f.signups.ChooseSubdomain(ctx, sg, "carol")
	if err != nil { // carol.roost.test is free: carol's tenant is carol.test
		t.Fatal(err)
	}
	if n := count(t, f.db, "domains"); n != 2 {
		t.Fatalf("%d domains", n)
	}
}

// SECURITY 23: a claimed domain is served only after its TXT proof is
// found; a deleted tenant's domain can be claimed, but must be proven anew.
func TestSignupDomainServedOnlyWithTXTProof(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	old := create(t, f.tenants, "Gone", "dana.test", "")
	exec(t, f.db, `update tenants set status = 'deleted' where id = $1`, old.ID)
	sg := f.start(t, "dana@mail.test")
	c, err := f.signups.ChooseOwn(ctx, sg, "dana.test")
	if err != nil || c.State != verify.Pending || c.Token == old.Domains[0].VerificationToken {
		t.Fatalf("re-claim of a deleted tenant's domain: %+v %v", c, err)
	}
	if _, err := f.tenants.SiteByHost(ctx, "dana.test"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("an unproven claim is served: %v", err)
	}
	sg, _ = f.store.Signup(ctx, sg.UserID)
	// Pointing at us is not enough.
	f.dns.Add(t, "dana.test 60 IN A 198.51.100.7")
	cl, err := f.signups.Check(ctx, sg)
	if err != nil || cl.State != verify.Pending {
		t.Fatalf("verified without TXT: %+v %v", cl, err)
	}
	if _, err := f.tenants.SiteByHost(ctx, "dana.test"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("served without TXT proof: %v", err)
	}
	f.dns.Add(t, `_roost-challenge.dana.test 60 IN TXT "`+c.Token+`"`)
	cl, err = f.signups.Check(ctx, sg)
	if err != nil || cl.State != verify.Verified || len(cl.Checks) != 2 || cl.Checks[0].Status != "TXT record found" {
		t.Fatalf("with TXT: %+v %v", cl, err)
	}
	wantSite(t, f.tenants, "dana.test", tenant.Site{TenantID: sg.TenantID, TenantName: sg.TenantName, Status: tenant.Active, Domain: "dana.test"})
}

func TestSignupExpiredClaimFreesTheName(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	alice, bob := f.start(t, "alice@mail.test"), f.start(t, "bob@mail.test")
	if _, err := f.signups.ChooseOwn(ctx, alice, "alice.test"); err != nil {
		t.Fatal(err)
	}
	// Due at once, then backing off; the lease hides it from a second checker.
	due, err := f.store.DueClaims(ctx, signupT0, 5*time.Minute, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due: %v %v", due, err)
	}
	if again, _ := f.store.DueClaims(ctx, signupT0, 5*time.Minute, 10); len(again) != 0 {
		t.Fatalf("a leased claim was handed out twice")
	}
	if ok, _ := f.store.Expire(ctx, "alice.test", signupT0.Add(24*time.Hour-time.Second)); ok {
		t.Fatal("expired early")
	}
	f.set(signupT0.Add(24 * time.Hour))
	if n, err := f.signups.Checker.RunDue(ctx); n != 1 || err != nil {
		t.Fatalf("RunDue %d %v", n, err)
	}
	sg, _ := f.store.Signup(ctx, alice.UserID)
	if sg.Claim != nil || !strings.Contains(sg.Notice, "alice.test expired") {
		t.Fatalf("after expiry: claim %+v notice %q", sg.Claim, sg.Notice)
	}
	if _, err := f.signups.ChooseOwn(ctx, bob, "alice.test"); err != nil {
		t.Fatalf("the expired name is not free: %v", err)
	}
	if _, err := f.signups.ChooseOwn(ctx, sg, "alice2.test"); err != nil {
		t.Fatal(err)
	}
	if sg, _ = f.store.Signup(ctx, alice.UserID); sg.Notice != "" {
		t.Fatalf("notice kept after a new claim: %q", sg.Notice)
	}
}

func TestSignupFlaggedDomainStaysServedAndListed(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	sg := f.start(t, "erin@mail.test")
	c, _ := f.signups.ChooseOwn(ctx, sg, "erin.test")
	sg, _ = f.store.Signup(ctx, sg.UserID)
	f.dns.Add(t, `_roost-challenge.erin.test 60 IN TXT "`+c.Token+`"`, "erin.test 60 IN A 198.51.100.7")
	if cl, err := f.signups.Check(ctx, sg); err != nil || cl.State != verify.Verified {
		t.Fatalf("%+v %v", cl, err)
	}
	f.dns.Remove("_roost-challenge.erin.test", "TXT")
	day := signupT0.Add(24 * time.Hour)
	f.set(day)
	if n, _ := f.signups.Checker.RunDue(ctx); n != 1 {
		t.Fatal("not re-verified after a day")
	}
	flagged, err := f.store.FlaggedClaims(ctx)
	if err != nil || len(flagged) != 1 || flagged[0].Domain != "erin.test" || !flagged[0].FlaggedAt.Equal(day) {
		t.Fatalf("flagged: %+v %v", flagged, err)
	}
	if _, err := f.tenants.SiteByHost(ctx, "erin.test"); err != nil {
		t.Fatalf("a flagged domain was dropped: %v", err)
	}
}

func TestSignupApprovalAndInvites(t *testing.T) {
	ctx := context.Background()
	f := newSignups(t, verify.Approval)
	sg := f.start(t, "fay@mail.test")
	if sg.TenantStatus != tenant.Pending {
		t.Fatalf("status %s", sg.TenantStatus)
	}
	if _, err := f.signups.ChooseSubdomain(ctx, sg, "fay"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.tenants.SiteByHost(ctx, "fay.roost.test"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a tenant waiting for approval is served: %v", err)
	}
	hosts, err := f.store.ApproveTenant(ctx, sg.TenantID)
	if err != nil || strings.Join(hosts, " ") != "fay.roost.test" {
		t.Fatalf("approve: %v %v", hosts, err)
	}
	if _, err := f.tenants.SiteByHost(ctx, "fay.roost.test"); err != nil {
		t.Fatalf("approved but not served: %v", err)
	}
	if _, err := f.store.ApproveTenant(ctx, sg.TenantID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("approving twice: %v", err)
	}
	if _, err := f.store.ApproveTenant(ctx, 999999); !errs.Is(err, errs.NotFound) {
		t.Fatalf("approving nothing: %v", err)
	}

	f.signups.Mode = verify.Invite
	form := verify.StartForm{Name: "Gil", Email: "gil@mail.test", Password: "long enough password", AcceptRules: true}
	_, err = f.signups.Start(ctx, form)
	wantField(t, err, "invite", "need an invite code")
	form.Invite = "NOPE"
	_, err = f.signups.Start(ctx, form)
	wantField(t, err, "invite", "not valid")
	if err := f.store.CreateInvite(ctx, verify.HashCode("ABCDEFGH"), nil); err != nil {
		t.Fatal(err)
	}
	form.Invite = " abcdefgh "
	if _, err := f.signups.Start(ctx, form); err != nil {
		t.Fatalf("with the invite: %v", err)
	}
	form.Email = "hal@mail.test"
	_, err = f.signups.Start(ctx, form)
	wantField(t, err, "invite", "used already")
	if n := count(t, f.db, "users where email = 'hal@mail.test'"); n != 0 {
		t.Fatal("a refused signup left its login behind")
	}
}

func TestSignupSessions(t *testing.T) {
	f := newSignups(t, verify.Open)
	ctx := context.Background()
	sg := f.start(t, "ivy@mail.test")
	tok, err := f.signups.NewSession(ctx, sg.UserID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.signups.SessionSignup(ctx, tok)
	if err != nil || got.ID != sg.ID {
		t.Fatalf("session: %v", err)
	}
	var stored int
	f.db.QueryRow(ctx, `select count(*) from portal_sessions where token_hash = $1`, []byte(tok)).Scan(&stored)
	if stored != 0 {
		t.Fatal("the session token is stored in clear")
	}
	f.set(signupT0.Add(verify.SessionLifetime + time.Second))
	if _, err := f.signups.SessionSignup(ctx, tok); !errs.Is(err, errs.NotFound) {
		t.Fatalf("expired session: %v", err)
	}
	f.set(signupT0)
	f.signups.EndSession(ctx, tok)
	if _, err := f.signups.SessionSignup(ctx, tok); !errs.Is(err, errs.NotFound) {
		t.Fatalf("ended session: %v", err)
	}
}
