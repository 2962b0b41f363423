package push

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pushtest"
)

// fakeStore keeps subscriptions by token, the keys, and the queue.
type fakeStore struct {
	federation.PushStore
	keys      *federation.VAPIDKeys
	creates   int
	subs      map[int64]*federation.PushSubscription
	jobs      []federation.PushJob
	sent      []int64
	retried   map[int64]time.Time
	reasons   map[int64]string
	dropped   []int64
	claimedAt []time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{subs: map[int64]*federation.PushSubscription{}, retried: map[int64]time.Time{},
		reasons: map[int64]string{}}
}

func (f *fakeStore) VAPIDKeys(context.Context) (federation.VAPIDKeys, error) {
	if f.keys == nil {
		return federation.VAPIDKeys{}, errs.E(errs.NotFound, "none")
	}
	return *f.keys, nil
}

func (f *fakeStore) CreateVAPIDKeys(_ context.Context, k federation.VAPIDKeys) (federation.VAPIDKeys, error) {
	f.creates++
	if f.keys == nil {
		f.keys = &k
	}
	return *f.keys, nil
}

func (f *fakeStore) SavePushSubscription(_ context.Context, p *federation.PushSubscription) error {
	p.ID = p.TokenID * 10
	f.subs[p.TokenID] = p
	return nil
}

func (f *fakeStore) PushSubscription(_ context.Context, tenantID, tokenID int64) (*federation.PushSubscription, error) {
	if p, ok := f.subs[tokenID]; ok && p.TenantID == tenantID {
		return p, nil
	}
	return nil, errs.E(errs.NotFound, "Record not found")
}

func (f *fakeStore) UpdatePushAlerts(ctx context.Context, tenantID, tokenID int64, alerts []string, policy string) (*federation.PushSubscription, error) {
	p, err := f.PushSubscription(ctx, tenantID, tokenID)
	if err != nil {
		return nil, err
	}
	p.Alerts, p.Policy = alerts, policy
	return p, nil
}

func (f *fakeStore) ClaimPushes(_ context.Context, now time.Time, _ time.Duration, _ int) ([]federation.PushJob, error) {
	f.claimedAt = append(f.claimedAt, now)
	jobs := f.jobs
	f.jobs = nil
	return jobs, nil
}

func (f *fakeStore) PushSent(_ context.Context, id int64) error {
	f.sent = append(f.sent, id)
	return nil
}

func (f *fakeStore) RetryPush(_ context.Context, id int64, at time.Time, reason string) error {
	f.retried[id], f.reasons[id] = at, reason
	return nil
}

func (f *fakeStore) DropPushSubscription(_ context.Context, id int64) error {
	f.dropped = append(f.dropped, id)
	return nil
}

// fakeSender records each push's message and payload and answers
// status (or err).
type fakeSender struct {
	status   int
	err      error
	payloads []Payload
	messages []federation.PushMessage
}

func (f *fakeSender) SendPush(_ context.Context, m federation.PushMessage, _ federation.VAPIDKeys) (int, error) {
	f.messages = append(f.messages, m)
	var p Payload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return 0, err
	}
	f.payloads = append(f.payloads, p)
	return f.status, f.err
}

func subscribed(t *testing.T, s *Service, alerts ...string) (*federation.PushSubscription, *pushtest.Keys) {
	t.Helper()
	keys, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(context.Background(), Owner{TenantID: 7, AccountID: 1, TokenID: 3, Bearer: "tok-alice"},
		Subscription{Endpoint: "https://push.example/send/abc", P256DH: keys.P256DH(), Auth: keys.AuthSecret(),
			Alerts: Alerts{Enabled: alerts}})
	if err != nil {
		t.Fatal(err)
	}
	return sub, keys
}

// The VAPID keys are made once and kept: a second call, or a second
// node's service over the same store, gets the same pair.
func TestIssue17VAPIDKeysAreMadeOnce(t *testing.T) {
	store := newFakeStore()
	a, b := &Service{Store: store}, &Service{Store: store}
	ka, err := a.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b.Keys(context.Background())
	if err != nil || kb != ka || store.creates != 1 {
		t.Fatalf("second service: %v, %v; creates %d", kb, err, store.creates)
	}
	if len(ka.Public) != 87 || len(ka.Private) != 43 {
		t.Fatalf("keys %q / %q are not a base64url P-256 pair", ka.Public, ka.Private)
	}
}

// Subscribing checks the endpoint, the keys and the policy; bad input
// changes nothing. Keys in any base64 flavour are normalised; unknown
// alert names are ignored, as Mastodon does.
func TestIssue17SubscribeChecksItsInput(t *testing.T) {
	store := newFakeStore()
	s := &Service{Store: store}
	keys, err := pushtest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	good := Subscription{Endpoint: "https://push.example/x", P256DH: keys.P256DH(), Auth: keys.AuthSecret()}
	owner := Owner{TenantID: 7, AccountID: 1, TokenID: 3, Bearer: "t"}
	bad := map[string]func(*Subscription){
		"no endpoint":       func(s *Subscription) { s.Endpoint = "" },
		"ftp endpoint":      func(s *Subscription) { s.Endpoint = "ftp://push.example/x" },
		"credentials":       func(s *Subscription) { s.Endpoint = "https://u:p@push.example/x" },
		"long endpoint":     func(s *Subscription) { s.Endpoint = "https://push.example/" + strings.Repeat("a", 2100) },
		"p256dh not a key":  func(s *Subscription) { s.P256DH = "AAAA" },
		"p256dh not base64": func(s *Subscription) { s.P256DH = "!!!" },
		"auth 8 bytes":      func(s *Subscription) { s.Auth = "AAAAAAAAAAA" },
		"unknown policy":    func(s *Subscription) { s.Alerts.Policy = "friends" },
	}
	for name, change := range bad {
		sub := good
		change(&sub)
		if _, err := s.Subscribe(context.Background(), owner, sub); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if len(store.subs) != 0 {
		t.Fatal("a refused subscription was stored")
	}
	std := good
	std.P256DH = strings.NewReplacer("-", "+", "_", "/").Replace(keys.P256DH()) + "="
	std.Alerts = Alerts{Enabled: []string{"mention", "bogus", "follow", "mention"}, Policy: "followed"}
	p, err := s.Subscribe(context.Background(), owner, std)
	if err != nil {
		t.Fatal(err)
	}
	if p.P256DH != keys.P256DH() || !slices.Equal(p.Alerts, []string{"follow", "mention"}) || p.Policy != "followed" {
		t.Fatalf("stored %+v", p)
	}
}

// A push's payload is Mastodon's, for a mention, a follow and a
// favourite: the notification's id and type, a title naming who acted,
// the post's text (or the actor's bio) cut to 140 characters, their
// avatar, the subscribing token and the recipient's locale.
func TestIssue17PayloadIsMastodons(t *testing.T) {
	store := newFakeStore()
	s := &Service{Store: store}
	sub, keys := subscribed(t, s, "mention", "follow", "favourite")
	sender := &fakeSender{status: http.StatusCreated}
	d := &Deliverer{Store: store, Keys: s, Sender: sender, Base: func(domain string) string { return "https://" + domain }}
	long := strings.Repeat("word ", 60)
	from := federation.PushNotification{Domain: "a.example", FromUsername: "bob", FromDisplayName: "Bob",
		FromAvatarURL: "https://a.example/media/bob.png", FromNote: "<p>I post about birds</p>"}
	mention, follow, fav := from, from, from
	mention.ID, mention.Type, mention.StatusContent = 41, "mention", "<p>@alice hi &amp; welcome</p>"
	follow.ID, follow.Type, follow.FromAvatarURL, follow.Locale = 42, "follow", "", "de"
	fav.ID, fav.Type, fav.StatusContent = 43, "favourite", "<p>"+long+"</p>"
	for i, n := range []federation.PushNotification{mention, follow, fav} {
		store.jobs = append(store.jobs, federation.PushJob{ID: int64(i + 1), Attempts: 1, Subscription: *sub, Notification: n})
	}
	if err := d.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(sender.payloads, func(a, b Payload) int { return int(a.NotificationID - b.NotificationID) })
	want := []Payload{
		{AccessToken: "tok-alice", PreferredLocale: "en", NotificationID: 41, NotificationType: "mention",
			Icon: "https://a.example/media/bob.png", Title: "Bob mentioned you", Body: "@alice hi & welcome"},
		{AccessToken: "tok-alice", PreferredLocale: "de", NotificationID: 42, NotificationType: "follow",
			Icon: "https://a.example/avatars/original/missing.png", Title: "Bob followed you", Body: "I post about birds"},
		{AccessToken: "tok-alice", PreferredLocale: "en", NotificationID: 43, NotificationType: "favourite",
			Icon: "https://a.example/media/bob.png", Title: "Bob favorited your post",
			Body: strings.TrimSpace(long)[:139] + "…"},
	}
	if !slices.Equal(sender.payloads, want) {
		t.Fatalf("payloads\n%+v\nwant\n%+v", sender.payloads, want)
	}
	if len(store.sent) != 3 || len(store.dropped)+len(store.retried) != 0 {
		t.Fatalf("sent %v, dropped %v, retried %v", store.sent, store.dropped, store.retried)
	}
	m := sender.messages[0]
	if m.Endpoint != sub.Endpoint || m.P256DH != keys.P256DH() || m.Subject != "https://a.example" || m.TTL != TTL {
		t.Fatalf("message %+v", m)
	}
}

// Outcomes, by the injected clock: 2xx sent; 404/410 end the
// subscription; 429, 5xx and no answer retry with doubling back-off
// until MaxAttempts, then give up; other 4xx give up at once; an
// endpoint the safe client refuses ends the subscription.
func TestIssue17PushOutcomes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	unreachable := errs.E(errs.Unavailable, "could not reach push.example")
	cases := []struct {
		name     string
		status   int
		err      error
		attempts int
		want     string // sent, dropped, retry <duration>
	}{
		{"created", 201, nil, 1, "sent"},
		{"gone", 410, nil, 1, "dropped"},
		{"not found", 404, nil, 3, "dropped"},
		{"server error", 500, nil, 1, "retry 30s"},
		{"too many", 429, nil, 2, "retry 1m0s"},
		{"no answer", 0, unreachable, 4, "retry 4m0s"},
		{"capped", 503, nil, 7, "retry 32m0s"},
		{"last attempt", 500, nil, MaxAttempts, "sent"},
		{"bad request", 400, nil, 1, "sent"},
		{"refused address", 0, errs.E(errs.Forbidden, "the address of push.example is not allowed"), 1, "dropped"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newFakeStore()
			s := &Service{Store: store}
			sub, _ := subscribed(t, s, "mention")
			sender := &fakeSender{status: c.status, err: c.err}
			d := &Deliverer{Store: store, Keys: s, Sender: sender, Base: func(d string) string { return "https://" + d },
				Now: func() time.Time { return now }}
			store.jobs = []federation.PushJob{{ID: 5, Attempts: c.attempts, Subscription: *sub,
				Notification: federation.PushNotification{ID: 1, Type: "mention", FromUsername: "bob"}}}
			if err := d.Pass(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got string
			switch {
			case len(store.sent) == 1:
				got = "sent"
			case len(store.dropped) == 1 && store.dropped[0] == sub.ID:
				got = "dropped"
			case !store.retried[5].IsZero():
				got = "retry " + store.retried[5].Sub(now).String()
			}
			if got != c.want {
				t.Fatalf("outcome %q, want %q (sent %v dropped %v retried %v)", got, c.want, store.sent, store.dropped, store.retried)
			}
			if store.claimedAt[0] != now {
				t.Fatalf("claimed at %v, not the injected clock", store.claimedAt[0])
			}
		})
	}
}

// The token is sealed at rest and opens only with the instance's keys.
func TestIssue17TokenSealedAtRest(t *testing.T) {
	store := newFakeStore()
	s := &Service{Store: store}
	sub, _ := subscribed(t, s, "mention")
	if strings.Contains(string(sub.SealedToken), "tok-alice") {
		t.Fatal("the token is stored in the clear")
	}
	keys, err := s.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := unseal(keys, sub.SealedToken); err != nil || tok != "tok-alice" {
		t.Fatalf("unseal = %q, %v", tok, err)
	}
	other, err := (&Service{Store: newFakeStore()}).Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unseal(other, sub.SealedToken); err == nil {
		t.Fatal("another instance's keys opened the token")
	}
	sub.SealedToken[len(sub.SealedToken)-1] ^= 1
	if _, err := unseal(keys, sub.SealedToken); err == nil {
		t.Fatal("a tampered seal opened")
	}
}

// PUT replaces alerts and policy wholesale; another tenant's or token's
// subscription is not found.
func TestIssue17UpdateReplacesAlerts(t *testing.T) {
	store := newFakeStore()
	s := &Service{Store: store}
	subscribed(t, s, "mention", "follow")
	owner := Owner{TenantID: 7, AccountID: 1, TokenID: 3}
	p, err := s.Update(context.Background(), owner, Alerts{Enabled: []string{"favourite"}})
	if err != nil || !slices.Equal(p.Alerts, []string{"favourite"}) || p.Policy != "all" {
		t.Fatalf("update = %+v, %v", p, err)
	}
	for _, o := range []Owner{{TenantID: 8, AccountID: 1, TokenID: 3}, {TenantID: 7, AccountID: 1, TokenID: 4}} {
		if _, err := s.Update(context.Background(), o, Alerts{}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("%+v: %v, want not found", o, err)
		}
	}
	if _, err := s.Update(context.Background(), owner, Alerts{Policy: "nobody"}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("bad policy: %v", err)
	}
	if !slices.Equal(store.subs[3].Alerts, []string{"favourite"}) {
		t.Fatal("a refused update changed the subscription")
	}
}
