package postgres_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// One key pair for the test binary: slow to make, and no test here needs
// distinct ones.
var (
	keysOnce sync.Once
	keyPair  federation.KeyPair
	keysErr  error
)

func keys(t *testing.T) federation.KeyPair {
	t.Helper()
	keysOnce.Do(func() { keyPair, keysErr = federation.GenerateKeyPair() })
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keyPair
}

// account creates a tenant with domain and one account on it.
func account(t *testing.T, db *pgxpool.Pool, domain, name string) *federation.Account {
	t.Helper()
	ctx := context.Background()
	tn, err := tenantpg.New(db).CreateTenant(ctx, "tenant "+domain, tenant.NewDomain{Domain: domain, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := fedpg.New(db).CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: domain, Username: name,
		Email: name + "@" + domain, Password: "x", PasswordHash: "x", Keys: keys(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func newMedia(owner *federation.Account, key string) *media.Attachment {
	return &media.Attachment{TenantID: owner.TenantID, AccountID: owner.ID, Kind: media.Image, ContentType: "image/png",
		FileKey: key + "/original.png", ThumbKey: key + "/small.png", ThumbContentType: "image/png", Size: 10,
		Width: 20, Height: 10, ThumbWidth: 20, ThumbHeight: 10, Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
		Description: "alt", State: media.Ready}
}

// publish posts a local status of a with the given attachments.
func publish(t *testing.T, store *fedpg.Store, a *federation.Account, atts []federation.Attachment, poll *federation.Poll) (*federation.Status, error) {
	t.Helper()
	st := &federation.Status{AccountID: a.ID, TenantID: a.TenantID, Content: "<p>hi</p>", Visibility: federation.Public,
		Published: time.Now(), Attachments: atts, Poll: poll}
	saved, _, err := store.Publish(context.Background(), st,
		func(id int64) string {
			return "https://" + a.Domain + "/users/" + a.Username + "/statuses/" + strconv.FormatInt(id, 10)
		},
		func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
	return saved, err
}

func TestMediaRecordsAreTheOwners(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	alice := account(t, db, "a.example", "alice")
	carol := account(t, db, "c.example", "carol")
	ms := mediapg.New(db)
	store := fedpg.New(db)

	m, err := ms.CreateMedia(ctx, newMedia(alice, "k1"))
	if err != nil || m.ID == 0 || m.State != media.Ready || m.Width != 20 {
		t.Fatalf("create: %+v %v", m, err)
	}
	// The database refuses media claiming another tenant.
	wrong := newMedia(alice, "k2")
	wrong.TenantID = carol.TenantID
	if _, err := ms.CreateMedia(ctx, wrong); err == nil {
		t.Fatal("media of alice stored on carol's tenant")
	}
	if got, _ := ms.MediaByIDs(ctx, carol.ID, []int64{m.ID}); len(got) != 0 {
		t.Fatal("carol sees alice's media")
	}
	if ct, err := ms.MediaFile(ctx, alice.TenantID, m.ThumbKey); err != nil || ct != "image/png" {
		t.Fatalf("thumbnail file: %q %v", ct, err)
	}
	if _, err := ms.MediaFile(ctx, carol.TenantID, m.FileKey); !errs.Is(err, errs.NotFound) {
		t.Fatalf("alice's file on carol's tenant: %v", err)
	}
	if _, err := ms.UpdateMedia(ctx, carol.ID, m.ID, "mine", 0, 0); !errs.Is(err, errs.NotFound) {
		t.Fatalf("carol updating alice's media: %v", err)
	}
	if m, err = ms.UpdateMedia(ctx, alice.ID, m.ID, "new alt", 0.5, -0.5); err != nil || m.Description != "new alt" || m.FocusY != -0.5 {
		t.Fatalf("update: %+v %v", m, err)
	}

	// Attaching: carol cannot post alice's media; alice can, once.
	att := []federation.Attachment{m.Federation("https://a.example")}
	if _, err := publish(t, store, carol, att, nil); !errs.Is(err, errs.Invalid) {
		t.Fatalf("carol attaching alice's media: %v", err)
	}
	st, err := publish(t, store, alice, att, nil)
	if err != nil || len(st.Attachments) != 1 || st.Attachments[0].MediaID != m.ID {
		t.Fatalf("publish: %+v %v", st, err)
	}
	if _, err := publish(t, store, alice, att, nil); !errs.Is(err, errs.Invalid) {
		t.Fatalf("attaching media twice: %v", err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{m.ID}); len(got) != 1 || got[0].StatusID != st.ID {
		t.Fatalf("media not attached: %+v", got)
	}
	if _, err := ms.UpdateMedia(ctx, alice.ID, m.ID, "later", 0, 0); !errs.Is(err, errs.Invalid) {
		t.Fatalf("updating attached media: %v", err)
	}
	// An edit without it detaches it; deleting the post frees it too.
	if _, err := store.EditLocalStatus(ctx, st.URI, alice.ID, federation.StatusEdit{Content: "<p>x</p>", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{m.ID}); got[0].StatusID != 0 {
		t.Fatal("an edit without the media left it attached")
	}
}

func TestVotesAndCounts(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	alice := account(t, db, "a.example", "alice")
	bob := account(t, db, "b.example", "bob")
	carol := account(t, db, "c.example", "carol")
	store := fedpg.New(db)
	end := time.Now().Add(time.Hour)
	poll := &federation.Poll{EndsAt: &end, Options: []federation.PollOption{{Title: "yes"}, {Title: "no"}}}
	st, err := publish(t, store, alice, nil, poll)
	if err != nil {
		t.Fatal(err)
	}
	vote := func(who *federation.Account, choices ...int) error {
		_, err := store.Vote(ctx, federation.Vote{StatusID: st.ID, AccountID: who.ID, Choices: choices})
		return err
	}
	if err := vote(alice, 0); !errs.Is(err, errs.Invalid) {
		t.Fatalf("own poll: %v", err)
	}
	if err := vote(bob, 0, 1); !errs.Is(err, errs.Invalid) {
		t.Fatalf("two choices on a single-choice poll: %v", err)
	}
	if err := vote(bob, 2); !errs.Is(err, errs.Invalid) {
		t.Fatalf("no such option: %v", err)
	}
	if err := vote(bob, 1); err != nil {
		t.Fatal(err)
	}
	if err := vote(bob, 0); !errs.Is(err, errs.Invalid) {
		t.Fatalf("second vote: %v", err)
	}
	if err := vote(carol, 1); err != nil {
		t.Fatal(err)
	}
	got, _ := store.StatusByURI(ctx, st.URI)
	if got.Poll.Options[0].Votes != 0 || got.Poll.Options[1].Votes != 2 || got.Poll.Voters != 2 {
		t.Fatalf("counts %+v", got.Poll)
	}
	if own, err := store.OwnVotes(ctx, bob.ID, []int64{st.ID}); err != nil || len(own[st.ID]) != 1 || own[st.ID][0] != 1 {
		t.Fatalf("own votes %v %v", own, err)
	}
	// An edit asking the same keeps the votes; another question loses them.
	same := *poll
	if _, err := store.EditLocalStatus(ctx, st.URI, alice.ID, federation.StatusEdit{Content: "c", At: time.Now(), Poll: &same}); err != nil {
		t.Fatal(err)
	}
	if got, _ = store.StatusByURI(ctx, st.URI); got.Poll.Options[1].Votes != 2 {
		t.Fatalf("same question lost its votes: %+v", got.Poll)
	}
	other := &federation.Poll{EndsAt: &end, Options: []federation.PollOption{{Title: "yes"}, {Title: "maybe"}}}
	if _, err := store.EditLocalStatus(ctx, st.URI, alice.ID, federation.StatusEdit{Content: "c", At: time.Now(), Poll: other}); err != nil {
		t.Fatal(err)
	}
	if got, _ = store.StatusByURI(ctx, st.URI); got.Poll.Options[1].Votes != 0 || got.Poll.Voters != 0 {
		t.Fatalf("a new question kept votes: %+v", got.Poll)
	}
	if err := vote(bob, 1); err != nil {
		t.Fatalf("voting again on the new question: %v", err)
	}
	// An ended poll takes no votes.
	if _, err := db.Exec(ctx, `update statuses set poll = jsonb_set(poll, '{endsAt}', to_jsonb(now() - interval '1 minute')) where id = $1`, st.ID); err != nil {
		t.Fatal(err)
	}
	if err := vote(carol, 0); !errs.Is(err, errs.Invalid) {
		t.Fatalf("ended poll: %v", err)
	}
}
