package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

// moreWorld is two tenants: a.example with alice and bob, b.example with
// carol, and remote actors on remote.example.
type moreWorld struct {
	t                 *testing.T
	db                *pgxpool.Pool
	s                 *fedpg.Store
	ta, tb            int64
	alice, bob, carol *federation.Account
	n                 int
}

func newMoreWorld(t *testing.T) *moreWorld {
	t.Helper()
	db := testenv.DB(t)
	s := fedpg.New(db)
	a, b := newTenant(t, db, "a.example"), newTenant(t, db, "b.example")
	w := &moreWorld{t: t, db: db, s: s, ta: a.ID, tb: b.ID}
	w.alice = mustCreate(t, s, newAccount(t, a.ID, "a.example", "alice", "alice@a.example"))
	w.bob = mustCreate(t, s, newAccount(t, a.ID, "a.example", "bob", "bob@a.example"))
	w.carol = mustCreate(t, s, newAccount(t, b.ID, "b.example", "carol", "carol@b.example"))
	return w
}

func (w *moreWorld) remote(name string) *federation.Account {
	w.t.Helper()
	uri := "https://remote.example/users/" + name
	a, err := w.s.UpsertRemoteActor(context.Background(), &federation.Account{Domain: "remote.example", Username: name,
		DisplayName: "Remote " + name,
		Remote:      &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

func (w *moreWorld) follow(follower, followee *federation.Account) {
	w.t.Helper()
	w.n++
	if _, _, err := w.s.CreateFollow(context.Background(), follower.ID, followee.ID, fmt.Sprintf("https://x.example/follows/%d", w.n), "accepted"); err != nil {
		w.t.Fatal(err)
	}
}

// remotePost receives a public post (optionally a reply) by a remote
// author and files it in the home feeds of its followers on tenant.
func (w *moreWorld) remotePost(author *federation.Account, tenant int64, text, inReplyTo string, tags ...string) *federation.Status {
	w.t.Helper()
	ctx := context.Background()
	w.n++
	st, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: author.ID,
		URI:     fmt.Sprintf("%s/statuses/%d", author.Remote.URI, w.n),
		Content: "<p>" + text + "</p>", Visibility: federation.Public, InReplyToURI: inReplyTo, Tags: tags,
		To: []string{federation.PublicCollection}, Published: time.Now()})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.s.AddToHomeFeeds(ctx, st.ID, author.ID, tenant); err != nil {
		w.t.Fatal(err)
	}
	return st
}

// localPost publishes a local post as Publish does for the API.
func (w *moreWorld) localPost(author *federation.Account, text string, vis federation.Visibility, mentions ...*federation.Account) *federation.Status {
	w.t.Helper()
	st := &federation.Status{AccountID: author.ID, TenantID: author.TenantID, Content: "<p>" + text + "</p>", Text: text,
		Visibility: vis, Published: time.Now()}
	for _, m := range mentions {
		st.MentionIDs = append(st.MentionIDs, m.ID)
		if m.Local() {
			st.LocalMentionIDs = append(st.LocalMentionIDs, m.ID)
		}
	}
	out, _, err := w.s.Publish(context.Background(), st, func(id int64) string {
		return fmt.Sprintf("https://%s/users/%s/statuses/%d", author.Domain, author.Username, id)
	}, func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if errs.CodeOf(err) != errs.NotFound {
		t.Errorf("%s: %v, want not found", what, err)
	}
}

// Lists belong to their owner: another tenant's account (or another
// account on the same tenant) cannot read, change or page them, whatever
// ids it tries.
func TestListsAreTheOwnersOnly(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	r1, r2 := w.remote("r1"), w.remote("r2")
	w.follow(w.alice, r1)
	w.follow(w.alice, r2)
	w.follow(w.carol, r1)
	l, err := w.s.SaveList(ctx, w.alice.ID, federation.List{Title: "friends", RepliesPolicy: federation.RepliesList})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddListMembers(ctx, w.alice.ID, l.ID, []int64{r1.ID}); err != nil {
		t.Fatal(err)
	}
	// Only followed accounts join a list.
	if err := w.s.AddListMembers(ctx, w.alice.ID, l.ID, []int64{w.carol.ID}); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("adding an account alice does not follow: %v", err)
	}
	for _, other := range []*federation.Account{w.carol, w.bob} {
		_, err := w.s.List(ctx, other.ID, l.ID)
		notFound(t, "List", err)
		_, err = w.s.SaveList(ctx, other.ID, federation.List{ID: l.ID, Title: "mine", RepliesPolicy: "list"})
		notFound(t, "SaveList", err)
		notFound(t, "DeleteList", w.s.DeleteList(ctx, other.ID, l.ID))
		notFound(t, "AddListMembers", w.s.AddListMembers(ctx, other.ID, l.ID, []int64{r1.ID}))
		notFound(t, "RemoveListMembers", w.s.RemoveListMembers(ctx, other.ID, l.ID, []int64{r1.ID}))
		if ids, _, err := w.s.ListMembers(ctx, other.ID, l.ID, federation.Page{}); err != nil || len(ids) != 0 {
			t.Errorf("ListMembers as %s: %v %v", other.Username, ids, err)
		}
		if ids, err := w.s.ListTimeline(ctx, other.ID, l, federation.Page{Limit: 20}); err != nil || len(ids) != 0 {
			t.Errorf("ListTimeline as %s: %v %v", other.Username, ids, err)
		}
		if ls, err := w.s.ListsWith(ctx, other.ID, r1.ID); err != nil || len(ls) != 0 {
			t.Errorf("ListsWith as %s: %v %v", other.Username, ls, err)
		}
		// Their own built-in "For you" list only.
		if ls, err := w.s.Lists(ctx, other.ID); err != nil || len(ls) != 1 || !ls[0].ForYou || ls[0].AccountID != other.ID {
			t.Errorf("Lists as %s: %v %v", other.Username, ls, err)
		}
	}
	if got, _ := w.s.List(ctx, w.alice.ID, l.ID); got == nil || got.Title != "friends" {
		t.Fatalf("alice's list changed: %+v", got)
	}
}

// A list's timeline is the owner's home feed narrowed to the members,
// with the replies policy applied, paged like home.
func TestListTimeline(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	r1, r2, r3 := w.remote("r1"), w.remote("r2"), w.remote("r3")
	w.follow(w.alice, r1)
	w.follow(w.alice, r2)
	w.follow(w.carol, r1)
	l, _ := w.s.SaveList(ctx, w.alice.ID, federation.List{Title: "r1", RepliesPolicy: federation.RepliesList})
	if err := w.s.AddListMembers(ctx, w.alice.ID, l.ID, []int64{r1.ID}); err != nil {
		t.Fatal(err)
	}
	var r1posts []int64
	var firstURI string
	for i := 0; i < 5; i++ {
		st := w.remotePost(r1, w.ta, fmt.Sprintf("r1 post %d", i), "")
		r1posts = append(r1posts, st.ID)
		if i == 0 {
			firstURI = st.URI
		}
	}
	r2post := w.remotePost(r2, w.ta, "r2 post", "")
	r3post := w.remotePost(r3, w.ta, "r3 post", "") // alice does not follow r3
	selfReply := w.remotePost(r1, w.ta, "thread", firstURI).ID
	toR2 := w.remotePost(r1, w.ta, "@r2 hi", r2post.URI).ID
	toR3 := w.remotePost(r1, w.ta, "@r3 hi", r3post.URI).ID
	// carol's tenant got r1's posts too, in her own feed; alice's list never
	// shows carol's feed.
	w.remotePost(r1, w.tb, "for carol only", "")

	timeline := func(p federation.Page) []int64 {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 40
		}
		ids, err := w.s.ListTimeline(ctx, w.alice.ID, l, p)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	want := append([]int64{selfReply}, reverse(r1posts)...)
	if got := timeline(federation.Page{}); !slices.Equal(got, want) {
		t.Fatalf("list timeline (policy list, r2 not on it) = %v, want %v", got, want)
	}
	// r2 joins: replies to r2 show; replies to r3 (followed by nobody
	// here) still not.
	if err := w.s.AddListMembers(ctx, w.alice.ID, l.ID, []int64{r2.ID}); err != nil {
		t.Fatal(err)
	}
	if got := timeline(federation.Page{}); !slices.Contains(got, toR2) || !slices.Contains(got, r2post.ID) || slices.Contains(got, toR3) {
		t.Fatalf("with r2 on the list: %v", got)
	}
	// Policy none: no replies but threads.
	l.RepliesPolicy = federation.RepliesNone
	if got := timeline(federation.Page{}); slices.Contains(got, toR2) || !slices.Contains(got, selfReply) {
		t.Fatalf("policy none: %v", got)
	}
	// Policy followed: replies to anyone alice follows (r2), not r3.
	l.RepliesPolicy = federation.RepliesFollowed
	if err := w.s.RemoveListMembers(ctx, w.alice.ID, l.ID, []int64{r2.ID}); err != nil {
		t.Fatal(err)
	}
	if got := timeline(federation.Page{}); !slices.Contains(got, toR2) || slices.Contains(got, toR3) {
		t.Fatalf("policy followed: %v", got)
	}
	// Paging with max_id and min_id walks the same statuses.
	l.RepliesPolicy = federation.RepliesNone
	all := timeline(federation.Page{})
	first := timeline(federation.Page{Limit: 2})
	rest := timeline(federation.Page{Limit: 40, MaxID: first[len(first)-1]})
	if !slices.Equal(append(first, rest...), all) {
		t.Fatalf("paged %v + %v, want %v", first, rest, all)
	}
	if got := timeline(federation.Page{Limit: 2, MinID: all[3]}); !slices.Equal(got, all[1:3]) {
		t.Fatalf("min_id page %v, want %v", got, all[1:3])
	}
	// Unfollowing takes the account off alice's lists.
	if _, err := w.s.DeleteFollow(ctx, w.alice.ID, r1.ID); err != nil {
		t.Fatal(err)
	}
	if ids, _, _ := w.s.ListMembers(ctx, w.alice.ID, l.ID, federation.Page{}); len(ids) != 0 {
		t.Fatalf("members after unfollow: %v", ids)
	}
}

func reverse(s []int64) []int64 {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// Filters, their keywords and their statuses belong to their owner.
func TestFiltersAreTheOwnersOnly(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	st := w.localPost(w.bob, "hello", federation.Public)
	f, err := w.s.SaveFilter(ctx, w.alice.ID, &federation.Filter{Title: "spoilers", Context: []string{"home", "public"},
		Action: federation.FilterWarn, Keywords: []federation.FilterKeyword{{Keyword: "dune", WholeWord: true}, {Keyword: "arrakis"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Keywords) != 2 || f.Keywords[0].Keyword != "dune" {
		t.Fatalf("saved filter: %+v", f)
	}
	fs, err := w.s.AddFilterStatus(ctx, w.alice.ID, f.ID, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	kw := f.Keywords[0].ID
	for _, other := range []*federation.Account{w.carol, w.bob} {
		_, err := w.s.Filter(ctx, other.ID, f.ID)
		notFound(t, "Filter", err)
		_, err = w.s.FilterOfKeyword(ctx, other.ID, kw)
		notFound(t, "FilterOfKeyword", err)
		_, err = w.s.FilterOfStatus(ctx, other.ID, fs.ID)
		notFound(t, "FilterOfStatus", err)
		_, err = w.s.SaveFilter(ctx, other.ID, &federation.Filter{ID: f.ID, Title: "x", Context: []string{"home"}, Action: "hide"}, nil)
		notFound(t, "SaveFilter", err)
		// Updating another filter's keyword through one's own filter fails too.
		own, err := w.s.SaveFilter(ctx, other.ID, &federation.Filter{Title: "own", Context: []string{"home"}, Action: "warn"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.s.SaveFilter(ctx, other.ID, &federation.Filter{ID: own.ID, Title: "own", Context: []string{"home"}, Action: "warn",
			Keywords: []federation.FilterKeyword{{ID: kw, Keyword: "stolen"}}}, nil)
		notFound(t, "SaveFilter with another's keyword", err)
		if _, err := w.s.SaveFilter(ctx, other.ID, own, []int64{kw}); err != nil {
			t.Fatal(err)
		}
		notFound(t, "DeleteFilterKeyword", w.s.DeleteFilterKeyword(ctx, other.ID, kw))
		notFound(t, "DeleteFilterStatus", w.s.DeleteFilterStatus(ctx, other.ID, fs.ID))
		notFound(t, "DeleteFilter", w.s.DeleteFilter(ctx, other.ID, f.ID))
		_, err = w.s.AddFilterStatus(ctx, other.ID, f.ID, st.ID)
		notFound(t, "AddFilterStatus", err)
	}
	got, err := w.s.Filter(ctx, w.alice.ID, f.ID)
	if err != nil || got.Title != "spoilers" || len(got.Keywords) != 2 || got.Keywords[0].Keyword != "dune" || len(got.Statuses) != 1 {
		t.Fatalf("alice's filter after the others tried: %+v %v", got, err)
	}
	// The owner updates a keyword and drops another.
	got.Keywords = []federation.FilterKeyword{{ID: kw, Keyword: "Dune", WholeWord: false}}
	got, err = w.s.SaveFilter(ctx, w.alice.ID, got, []int64{f.Keywords[1].ID})
	if err != nil || len(got.Keywords) != 1 || got.Keywords[0].Keyword != "Dune" || got.Keywords[0].WholeWord {
		t.Fatalf("update: %+v %v", got, err)
	}
}

// Keyword matching, as Mastodon matches: case-insensitive, whole words
// only where the keyword starts or ends with a word character.
func TestMatchFilters(t *testing.T) {
	t.Parallel()
	f := &federation.Filter{ID: 1, Context: []string{"home"}, Action: "warn", Keywords: []federation.FilterKeyword{
		{Keyword: "cat", WholeWord: true}, {Keyword: "#Spoiler", WholeWord: true}, {Keyword: "ünï", WholeWord: false}}}
	for _, c := range []struct {
		text string
		want []string
	}{
		{"a cat sat", []string{"cat"}},
		{"CAT!", []string{"cat"}},
		{"concatenate", nil},
		{"cats", nil},
		{"big #spoilers ahead", nil},
		{"big #SPOILER ahead", []string{"#Spoiler"}},
		{"xÜNÏx", []string{"ünï"}},
		{"chat_cat", nil},
	} {
		m := federation.MatchFilters([]*federation.Filter{f}, "home", time.Now(), 9, c.text)
		var got []string
		if len(m) > 0 {
			got = m[0].Keywords
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: %v, want %v", c.text, got, c.want)
		}
	}
	if m := federation.MatchFilters([]*federation.Filter{f}, "public", time.Now(), 9, "cat"); len(m) != 0 {
		t.Errorf("a home filter matched in public")
	}
	past := time.Now().Add(-time.Minute)
	f.ExpiresAt = &past
	if m := federation.MatchFilters([]*federation.Filter{f}, "home", time.Now(), 9, "cat"); len(m) != 0 {
		t.Errorf("an expired filter matched")
	}
	if got := federation.PlainText(`<p>a &amp; <a href="x">b</a></p><p>c<br>d</p>`); got != "a & b\nc\nd" {
		t.Errorf("PlainText = %q", got)
	}
}

// Direct statuses group into each local participant's conversations.
func TestConversations(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	dm := w.localPost(w.alice, "psst @bob", federation.Direct, w.bob)
	conv := func(a *federation.Account) []federation.Conversation {
		t.Helper()
		cs, err := w.s.Conversations(ctx, a.ID, federation.Page{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	ac, bc := conv(w.alice), conv(w.bob)
	if len(ac) != 1 || !slices.Equal(ac[0].ParticipantIDs, []int64{w.bob.ID}) || ac[0].Unread || ac[0].LastStatusID != dm.ID {
		t.Fatalf("alice's conversations: %+v", ac)
	}
	if len(bc) != 1 || !slices.Equal(bc[0].ParticipantIDs, []int64{w.alice.ID}) || !bc[0].Unread {
		t.Fatalf("bob's conversations: %+v", bc)
	}
	reply := w.localPost(w.bob, "hi @alice", federation.Direct, w.alice)
	if ac = conv(w.alice); len(ac) != 1 || !ac[0].Unread || ac[0].LastStatusID != reply.ID {
		t.Fatalf("alice after bob's reply: %+v", ac)
	}
	if bc = conv(w.bob); len(bc) != 1 || bc[0].Unread {
		t.Fatalf("bob after his own reply: %+v", bc)
	}
	if c, err := w.s.ConversationWithStatus(ctx, w.alice.ID, reply.ID); err != nil || c.ID != ac[0].ID {
		t.Fatalf("alice's conversation of bob's reply: %+v %v", c, err)
	}
	_, err := w.s.ConversationWithStatus(ctx, w.carol.ID, reply.ID)
	notFound(t, "ConversationWithStatus as carol", err)
	// A public post with a mention is no conversation; a group DM is
	// another one.
	w.localPost(w.alice, "hey @bob", federation.Public, w.bob)
	w.localPost(w.alice, "@bob @carol", federation.Direct, w.bob, w.carol)
	if ac = conv(w.alice); len(ac) != 2 {
		t.Fatalf("alice's conversations: %+v", ac)
	}
	cc := conv(w.carol)
	if len(cc) != 1 || !slices.Equal(cc[0].ParticipantIDs, sortedIDs(w.alice.ID, w.bob.ID)) {
		t.Fatalf("carol's conversations: %+v", cc)
	}
	// carol cannot read, mark or delete alice's conversations.
	for _, c := range ac {
		_, err := w.s.Conversation(ctx, w.carol.ID, c.ID)
		notFound(t, "Conversation", err)
		notFound(t, "MarkConversationRead", w.s.MarkConversationRead(ctx, w.carol.ID, c.ID))
		notFound(t, "DeleteConversation", w.s.DeleteConversation(ctx, w.carol.ID, c.ID))
	}
	if err := w.s.MarkConversationRead(ctx, w.alice.ID, ac[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DeleteConversation(ctx, w.alice.ID, ac[0].ID); err != nil {
		t.Fatal(err)
	}
	if got := conv(w.alice); len(got) != 1 || got[0].Unread {
		t.Fatalf("after read and delete: %+v", got)
	}
}

func sortedIDs(ids ...int64) []int64 {
	slices.Sort(ids)
	return ids
}

// Status search covers what the viewer wrote, liked, bookmarked or was
// mentioned in, and nothing else, whatever tenant.
func TestSearchStatusesScope(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	mine := w.localPost(w.alice, "my banana bread", federation.Private)
	bobs := w.localPost(w.bob, "banana split", federation.Public)
	mention := w.localPost(w.bob, "banana for @alice", federation.Direct, w.alice)
	w.localPost(w.carol, "banana republic", federation.Public)
	search := func(a *federation.Account, q string) []int64 {
		t.Helper()
		ids, err := w.s.SearchStatuses(ctx, federation.StatusQuery{Text: q, ViewerID: a.ID, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := search(w.alice, "banana"); !slices.Equal(got, []int64{mention.ID, mine.ID}) {
		t.Fatalf("alice: %v", got)
	}
	if err := w.s.Favourite(ctx, w.alice.ID, bobs.ID, ""); err != nil {
		t.Fatal(err)
	}
	if got := search(w.alice, "BANANA"); !slices.Equal(got, []int64{mention.ID, bobs.ID, mine.ID}) {
		t.Fatalf("alice after liking bob's: %v", got)
	}
	if got := search(w.alice, `"banana split" -bread`); !slices.Equal(got, []int64{bobs.ID}) {
		t.Fatalf("phrase search: %v", got)
	}
	if got := search(w.carol, "bread"); len(got) != 0 {
		t.Fatalf("carol finds alice's post: %v", got)
	}
	// Account search: locals of every tenant and known remote actors.
	w.remote("banjo")
	ids, err := w.s.SearchAccounts(ctx, federation.AccountQuery{Text: "ca", Limit: 10})
	if err != nil || !slices.Equal(ids, []int64{w.carol.ID}) {
		t.Fatalf("accounts ca: %v %v", ids, err)
	}
	ids, _ = w.s.SearchAccounts(ctx, federation.AccountQuery{Text: "remote b", Limit: 10})
	if len(ids) != 1 {
		t.Fatalf("accounts by display name: %v", ids)
	}
	ids, _ = w.s.SearchAccounts(ctx, federation.AccountQuery{Text: "a_", Limit: 10})
	if len(ids) != 0 {
		t.Fatalf("LIKE wildcards are not escaped: %v", ids)
	}
}

// Custom emojis, hashtags and trends are each tenant's own.
func TestEmojisTagsAndTrendsPerTenant(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	png := []byte("\x89PNG\r\n\x1a\n....")
	if _, err := w.s.AddCustomEmoji(ctx, federation.CustomEmoji{TenantID: w.ta, Shortcode: "blobcat", ContentType: "image/png",
		Image: png, VisibleInPicker: true}); err != nil {
		t.Fatal(err)
	}
	if es, _ := w.s.CustomEmojis(ctx, w.tb); len(es) != 0 {
		t.Fatalf("b sees a's emojis: %v", es)
	}
	if es, _ := w.s.EmojisByShortcode(ctx, []int64{w.tb}, []string{"blobcat"}); len(es) != 0 {
		t.Fatalf("b's posts would show a's emoji: %v", es)
	}
	_, err := w.s.EmojiImage(ctx, w.tb, "blobcat")
	notFound(t, "EmojiImage on b", err)
	if e, err := w.s.EmojiImage(ctx, w.ta, "blobcat"); err != nil || string(e.Image) != string(png) {
		t.Fatalf("a's emoji: %v %v", e, err)
	}

	r1, r2 := w.remote("r1"), w.remote("r2")
	w.follow(w.alice, r1)
	w.follow(w.alice, r2)
	w.follow(w.carol, r2)
	w.remotePost(r1, w.ta, "#Gardening", "", "gardening")
	w.remotePost(r2, w.ta, "#gardening #compost", "", "gardening", "compost")
	w.remotePost(r2, w.tb, "#knitting", "", "knitting")
	tags, err := w.s.TrendingTags(ctx, w.ta, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 2 || tags[0].Name != "gardening" || tags[0].History[0].Accounts != 2 || tags[0].History[0].Uses != 2 ||
		len(tags[0].History) != 7 || tags[1].Name != "compost" {
		t.Fatalf("a's trending tags: %+v", tags)
	}
	if tags, _ := w.s.TrendingTags(ctx, w.tb, 10, 0); len(tags) != 1 || tags[0].Name != "knitting" {
		t.Fatalf("b's trending tags: %+v", tags)
	}
	if names, _ := w.s.SearchTags(ctx, w.tb, "gar", 10, 0); len(names) != 0 {
		t.Fatalf("b finds a's hashtags: %v", names)
	}
	if names, _ := w.s.SearchTags(ctx, w.ta, "GAR", 10, 0); !slices.Equal(names, []string{"gardening"}) {
		t.Fatalf("a's hashtags: %v", names)
	}
}

// A report reaches the reported account's tenant; when that is not the
// reporter's, the reporter's tenant keeps a copy, and the other tenant's
// copy does not name the reporter.
func TestReportsGoToTheTargetsTenant(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	st := w.localPost(w.bob, "rude", federation.Public)
	other := w.localPost(w.alice, "not bob's", federation.Public)
	r := &federation.UserReport{ReporterID: w.carol.ID, ReporterTenantID: w.tb, TargetTenantID: w.ta, TargetID: w.bob.ID,
		StatusIDs: []int64{st.ID, other.ID}, Comment: "rude", Category: "other"}
	if err := w.s.FileReport(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.StatusIDs, []int64{st.ID}) {
		t.Fatalf("statuses not bob's were kept: %v", r.StatusIDs)
	}
	if n := count(t, w.db, `select count(*) from reports where tenant_id = $1 and reporter_id is null and target_account_id = $2
		and status_uris = array[$3]`, w.ta, w.bob.ID, st.URI); n != 1 {
		t.Fatalf("a's anonymous copy: %d", n)
	}
	if n := count(t, w.db, `select count(*) from reports where id = $1 and tenant_id = $2 and reporter_id = $3`, r.ID, w.tb, w.carol.ID); n != 1 {
		t.Fatalf("b's copy: %d", n)
	}
	r2 := &federation.UserReport{ReporterID: w.alice.ID, ReporterTenantID: w.ta, TargetTenantID: w.ta, TargetID: w.bob.ID, Category: "spam"}
	if err := w.s.FileReport(ctx, r2); err != nil {
		t.Fatal(err)
	}
	if n := count(t, w.db, `select count(*) from reports where tenant_id = $1`, w.tb); n != 1 {
		t.Fatalf("a report within a reached b: %d rows", n)
	}
}

// Domain blocks belong to their account.
func TestDomainBlocks(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	r1 := w.remote("r1")
	w.follow(r1, w.alice)
	for _, d := range []string{"remote.example", "spam.example"} {
		if err := w.s.BlockDomain(ctx, w.alice.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.s.BlockDomain(ctx, w.alice.ID, "not a domain"); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("invalid domain: %v", err)
	}
	ds, cursors, err := w.s.DomainBlocks(ctx, w.alice.ID, federation.Page{Limit: 10})
	if err != nil || !slices.Equal(ds, []string{"spam.example", "remote.example"}) || len(cursors) != 2 {
		t.Fatalf("blocks: %v %v %v", ds, cursors, err)
	}
	if ds, _, _ := w.s.DomainBlocks(ctx, w.carol.ID, federation.Page{Limit: 10}); len(ds) != 0 {
		t.Fatalf("carol sees alice's blocks: %v", ds)
	}
	if err := w.s.UnblockDomain(ctx, w.carol.ID, "spam.example"); err != nil {
		t.Fatal(err)
	}
	hidden, _, _ := w.s.Hidden(ctx, w.alice.ID)
	if len(hidden) != 2 || !federation.DomainHidden(hidden, "sub.spam.example") || federation.DomainHidden(hidden, "notspam.example") {
		t.Fatalf("hidden: %v", hidden)
	}
	if ids, _ := w.s.FollowersOn(ctx, w.alice.ID, "remote.example"); !slices.Equal(ids, []int64{r1.ID}) {
		t.Fatalf("followers on remote.example: %v", ids)
	}
}
