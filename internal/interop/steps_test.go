package interop

import (
	"net/url"
	"strings"
	"testing"
)

// Roost and a real GoToSocial v0.20 federate both ways over HTTPS on
// loopback, each driven only through its own Mastodon client API by people
// with an app. Every step is a subtest (GoToSocial → Roost means a person
// on GoToSocial acts and Roost must show the result); the test ends with
// the list of steps and whether each passed.
func TestGoToSocialInterop(t *testing.T) {
	t.Parallel()
	p := startPeers(t)
	defer p.summary(t)

	p.step(t, "resolve gts→roost", nil, func(t *testing.T) { p.idOf(t, p.alice, p.bob.acct) })
	p.step(t, "resolve roost→gts", nil, func(t *testing.T) { p.idOf(t, p.bob, p.alice.acct) })
	p.followSteps(t)
	p.postSteps(t)
	p.interactionSteps(t)
	p.changeSteps(t)
	p.endSteps(t)
	p.moveSteps(t)
	p.authorizedFetchSteps(t) // authfetch_test.go; last: it restarts the web node
}

// follow makes who follow target (on the other server) and waits until
// who's server shows the follow accepted.
func (p *peers) follow(t *testing.T, who, target *person) {
	t.Helper()
	id := p.idOf(t, who, target.acct)
	var r relationship
	if err := who.call("POST", "/api/v1/accounts/"+id+"/follow", nil, &r); err != nil {
		t.Fatal(err)
	}
	eventually(t, who.acct+" follows "+target.acct, func() (bool, string) {
		r, err := who.relationship(id)
		return err == nil && r.Following, describe(r, err)
	})
}

// followLocked follows a locked account: a request, accepted by its owner
// through their follow requests.
func (p *peers) followLocked(t *testing.T, who, target *person) {
	t.Helper()
	if err := target.call("PATCH", "/api/v1/accounts/update_credentials", url.Values{"locked": {"true"}}, nil); err != nil {
		t.Fatal(err)
	}
	id := p.idOf(t, who, target.acct)
	if err := who.call("POST", "/api/v1/accounts/"+id+"/follow", nil, nil); err != nil {
		t.Fatal(err)
	}
	var requestID string
	eventually(t, target.acct+" sees "+who.acct+"'s follow request", func() (bool, string) {
		var reqs []account
		if err := target.call("GET", "/api/v1/follow_requests", nil, &reqs); err != nil {
			return false, err.Error()
		}
		for _, a := range reqs {
			if strings.EqualFold(a.Acct, who.acct) {
				requestID = a.ID
				return true, ""
			}
		}
		return false, "no request among " + accts(reqs)
	})
	if r, err := who.relationship(id); err != nil || !r.Requested || r.Following {
		t.Errorf("%s's relationship before the answer: %s", who.acct, describe(r, err))
	}
	if err := target.call("POST", "/api/v1/follow_requests/"+requestID+"/authorize", nil, nil); err != nil {
		t.Fatal(err)
	}
	p.remember(target, who.acct, requestID)
	eventually(t, who.acct+" follows "+target.acct+" once accepted", func() (bool, string) {
		r, err := who.relationship(id)
		return err == nil && r.Following, describe(r, err)
	})
}

func (p *peers) followSteps(t *testing.T) {
	// dest has never been seen by Roost: the Follow is the first it hears
	// of it, so Roost must find the key's owner from the key alone
	// (GoToSocial's key URL serves a stub actor; issue 16, bug 1).
	p.step(t, "follow gts→roost, first contact", []string{"resolve gts→roost"}, func(t *testing.T) {
		p.follow(t, p.dest, p.erin)
	})
	p.step(t, "follow roost→gts", []string{"resolve roost→gts"}, func(t *testing.T) { p.follow(t, p.bob, p.alice) })
	p.step(t, "follow gts→roost", []string{"resolve gts→roost"}, func(t *testing.T) { p.follow(t, p.alice, p.bob) })
	p.step(t, "follow locked account roost→gts", []string{"resolve roost→gts"}, func(t *testing.T) { p.followLocked(t, p.bob, p.lock) })
	p.step(t, "follow locked account gts→roost", []string{"resolve gts→roost"}, func(t *testing.T) { p.followLocked(t, p.alice, p.carol) })
}

// publish posts as author and waits for reader (following author) to see
// it on their home timeline; it returns the post and reader's copy.
func (p *peers) publish(t *testing.T, author, reader *person, text string, extra url.Values) (*status, *status) {
	t.Helper()
	s, err := author.post(text, extra)
	if err != nil {
		t.Fatal(err)
	}
	var seen *status
	eventually(t, reader.acct+" sees "+author.acct+"'s post", func() (bool, string) {
		var err error
		seen, err = reader.homeStatus(s.URI)
		return err == nil, errString(err)
	})
	p.remember(author, s.URI, s.ID)
	p.remember(reader, s.URI, seen.ID)
	return s, seen
}

func (p *peers) postSteps(t *testing.T) {
	p.step(t, "post gts→roost", []string{"follow roost→gts"}, func(t *testing.T) {
		_, seen := p.publish(t, p.alice, p.bob, "Hello from GoToSocial "+nonce(), url.Values{"visibility": {"public"}})
		if !strings.Contains(seen.Content, "Hello from GoToSocial") || seen.Visibility != "public" {
			t.Errorf("Roost shows %q (%s)", seen.Content, seen.Visibility)
		}
		p.remember(p.alice, "main post", seen.URI)
	})
	p.step(t, "post roost→gts", []string{"follow gts→roost"}, func(t *testing.T) {
		_, seen := p.publish(t, p.bob, p.alice, "Hello from Roost "+nonce(), url.Values{"visibility": {"public"}})
		if !strings.Contains(seen.Content, "Hello from Roost") || seen.Visibility != "public" {
			t.Errorf("GoToSocial shows %q (%s)", seen.Content, seen.Visibility)
		}
		p.remember(p.bob, "main post", seen.URI)
	})
	p.step(t, "reply threaded roost→gts", []string{"post gts→roost"}, func(t *testing.T) {
		p.replyThreaded(t, p.bob, p.alice)
	})
	p.step(t, "reply threaded gts→roost", []string{"post roost→gts"}, func(t *testing.T) {
		p.replyThreaded(t, p.alice, p.bob)
	})
}

// replyThreaded: replier answers author's main post; author's server must
// show the reply in the post's thread.
func (p *peers) replyThreaded(t *testing.T, replier, author *person) {
	t.Helper()
	uri := p.idOf(t, author, "main post")
	reply, err := replier.post("@"+author.acct+" a threaded reply "+nonce(), url.Values{"in_reply_to_id": {p.idOf(t, replier, uri)}})
	if err != nil {
		t.Fatal(err)
	}
	original := p.idOf(t, author, uri)
	eventually(t, author.acct+"'s thread shows the reply", func() (bool, string) {
		var ctx struct {
			Descendants []status `json:"descendants"`
		}
		if err := author.call("GET", "/api/v1/statuses/"+original+"/context", nil, &ctx); err != nil {
			return false, err.Error()
		}
		for _, d := range ctx.Descendants {
			if d.URI == reply.URI {
				return d.InReplyToID != nil && *d.InReplyToID == original, "in_reply_to_id " + deref(d.InReplyToID)
			}
		}
		return false, "not among " + itoa(len(ctx.Descendants)) + " descendants"
	})
}

func (p *peers) interactionSteps(t *testing.T) {
	for _, dir := range []struct {
		name      string
		from, to  *person
		needsFind string
	}{{"gts→roost", p.alice, p.bob, "resolve gts→roost"}, {"roost→gts", p.bob, p.alice, "resolve roost→gts"}} {
		from, to := dir.from, dir.to
		p.step(t, "mention "+dir.name, []string{dir.needsFind}, func(t *testing.T) {
			s, err := from.post("@"+to.acct+" hello there "+nonce(), url.Values{"visibility": {"public"}})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, to.acct+" is notified of the mention", func() (bool, string) {
				_, err := to.notification("mention", s.URI, from.acct)
				return err == nil, errString(err)
			})
		})
		p.step(t, "direct message "+dir.name, []string{dir.needsFind}, func(t *testing.T) {
			s, err := from.post("@"+to.acct+" just between us "+nonce(), url.Values{"visibility": {"direct"}})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, to.acct+" gets the direct message", func() (bool, string) {
				n, err := to.notification("mention", s.URI, from.acct)
				if err != nil {
					return false, err.Error()
				}
				return n.Status.Visibility == "direct", "visibility " + n.Status.Visibility
			})
		})
	}
	for _, dir := range []struct {
		name     string
		from, to *person
		post     string
	}{{"roost→gts", p.bob, p.alice, "post gts→roost"}, {"gts→roost", p.alice, p.bob, "post roost→gts"}} {
		from, to, needs := dir.from, dir.to, []string{dir.post}
		if dir.name == "gts→roost" {
			p.step(t, "boost of a post roost has not seen gts→roost", []string{"follow roost→gts"}, p.boostUnseen)
		}
		for _, act := range []struct{ step, path, notif string }{
			{"favourite", "favourite", "favourite"}, {"boost", "reblog", "reblog"}} {
			p.step(t, act.step+" "+dir.name, needs, func(t *testing.T) {
				uri := p.idOf(t, to, "main post")
				if err := from.call("POST", "/api/v1/statuses/"+p.idOf(t, from, uri)+"/"+act.path, nil, nil); err != nil {
					t.Fatal(err)
				}
				eventually(t, to.acct+" is notified of the "+act.step, func() (bool, string) {
					_, err := to.notification(act.notif, uri, from.acct)
					return err == nil, errString(err)
				})
			})
		}
	}
}

// boostUnseen: alice boosts a post by mover, whom nobody on Roost follows;
// Roost must fetch the post (GoToSocial answers only signed GETs) to show
// bob the boost.
func (p *peers) boostUnseen(t *testing.T) {
	t.Helper()
	s, err := p.mover.post("Nobody on Roost follows me "+nonce(), url.Values{"visibility": {"public"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.alice.call("POST", "/api/v1/statuses/"+s.ID+"/reblog", nil, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, p.bob.acct+" sees alice's boost of mover's post", func() (bool, string) {
		b, err := p.bob.homeReblogOf(s.URI)
		return err == nil && strings.Contains(b.Content, "Nobody on Roost"), errString(err)
	})
}

func (p *peers) changeSteps(t *testing.T) {
	for _, dir := range []struct {
		name           string
		author, reader *person
		post, follow   string
	}{{"gts→roost", p.alice, p.bob, "post gts→roost", "follow roost→gts"},
		{"roost→gts", p.bob, p.alice, "post roost→gts", "follow gts→roost"}} {
		author, reader := dir.author, dir.reader
		p.step(t, "edit "+dir.name, []string{dir.post}, func(t *testing.T) {
			uri := p.idOf(t, author, "main post")
			text := "Edited text " + nonce()
			if err := author.call("PUT", "/api/v1/statuses/"+p.idOf(t, author, uri), url.Values{"status": {text}}, nil); err != nil {
				t.Fatal(err)
			}
			eventually(t, reader.acct+" sees the edit", func() (bool, string) {
				s, _, err := reader.status(p.idOf(t, reader, uri))
				return err == nil && strings.Contains(s.Content, text), errString(err) + " content " + s.Content
			})
		})
		p.step(t, "media "+dir.name, []string{dir.follow}, func(t *testing.T) {
			id, err := author.upload("gradient.png", testPNG(), "a gradient")
			if err != nil {
				t.Fatal(err)
			}
			_, seen := p.publish(t, author, reader, "A picture "+nonce(), url.Values{"media_ids[]": {id}, "visibility": {"public"}})
			if len(seen.Media) != 1 || seen.Media[0].Type != "image" {
				t.Fatalf("%s's copy has media %+v", reader.acct, seen.Media)
			}
			if ct, err := reader.fetchMedia(seen.Media[0].URL); err != nil || !strings.HasPrefix(ct, "image/") {
				t.Errorf("the picture as %s's app shows it: %q, %v", reader.acct, ct, err)
			}
		})
		p.step(t, "profile update "+dir.name, []string{dir.follow}, func(t *testing.T) {
			name, note := "Renamed "+nonce(), "A new bio "+nonce()
			if err := author.call("PATCH", "/api/v1/accounts/update_credentials", url.Values{"display_name": {name}, "note": {note}}, nil); err != nil {
				t.Fatal(err)
			}
			id := p.idOf(t, reader, author.acct)
			eventually(t, reader.acct+" sees the new profile", func() (bool, string) {
				var a account
				err := reader.call("GET", "/api/v1/accounts/"+id, nil, &a)
				return err == nil && a.DisplayName == name && strings.Contains(a.Note, note), errString(err) + " display_name " + a.DisplayName
			})
		})
		p.step(t, "delete "+dir.name, []string{dir.follow}, func(t *testing.T) {
			s, seen := p.publish(t, author, reader, "Soon gone "+nonce(), url.Values{"visibility": {"public"}})
			if err := author.call("DELETE", "/api/v1/statuses/"+s.ID, nil, nil); err != nil {
				t.Fatal(err)
			}
			eventually(t, reader.acct+"'s server drops the post", func() (bool, string) {
				_, code, _ := reader.status(seen.ID)
				return code == 404, "status " + itoa(code)
			})
		})
	}
}

func (p *peers) endSteps(t *testing.T) {
	p.step(t, "unfollow roost→gts", []string{"follow locked account roost→gts"}, func(t *testing.T) {
		p.unfollow(t, p.bob, p.lock)
	})
	p.step(t, "unfollow gts→roost", []string{"follow locked account gts→roost"}, func(t *testing.T) {
		p.unfollow(t, p.alice, p.carol)
	})
	p.step(t, "block gts→roost", []string{"follow roost→gts"}, func(t *testing.T) {
		// bob follows alice; alice blocks him: Roost drops the follow.
		p.block(t, p.alice, p.bob)
	})
	p.step(t, "block roost→gts", []string{"resolve gts→roost"}, func(t *testing.T) {
		// Another pair: GoToSocial refuses every activity from an account
		// its user blocks, a Block included, so bob cannot block alice back.
		p.follow(t, p.lock, p.erin)
		p.block(t, p.erin, p.lock)
	})
}

// unfollow: who stops following target; target's server must no longer
// count who as a follower.
func (p *peers) unfollow(t *testing.T, who, target *person) {
	t.Helper()
	if err := who.call("POST", "/api/v1/accounts/"+p.idOf(t, who, target.acct)+"/unfollow", nil, nil); err != nil {
		t.Fatal(err)
	}
	id := p.idOf(t, target, who.acct)
	eventually(t, target.acct+" loses "+who.acct+" as a follower", func() (bool, string) {
		r, err := target.relationship(id)
		return err == nil && !r.FollowedBy, describe(r, err)
	})
}

// block: who blocks target; target's server must drop target's follow of
// who and show the block.
func (p *peers) block(t *testing.T, who, target *person) {
	t.Helper()
	if err := who.call("POST", "/api/v1/accounts/"+p.idOf(t, who, target.acct)+"/block", nil, nil); err != nil {
		t.Fatal(err)
	}
	id := p.idOf(t, target, who.acct)
	eventually(t, target.acct+"'s server applies the block", func() (bool, string) {
		r, err := target.relationship(id)
		return err == nil && !r.Following && r.BlockedBy, describe(r, err)
	})
}

func (p *peers) moveSteps(t *testing.T) {
	p.step(t, "account move gts→roost", []string{"resolve roost→gts"}, func(t *testing.T) {
		// bob follows mover; mover moves to dora (who lists mover as an
		// alias first): Roost moves bob's follow to dora.
		p.follow(t, p.bob, p.mover)
		if err := p.dora.call("POST", "/api/v1/roost/aliases", url.Values{"acct": {p.mover.acct}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.mover.call("POST", "/api/v1/accounts/move", url.Values{"password": {gtsPassword},
			"moved_to_uri": {p.dora.uri()}}, nil); err != nil {
			t.Fatal(err)
		}
		dora := p.idOf(t, p.bob, p.dora.acct)
		eventually(t, p.bob.acct+" follows "+p.dora.acct+" after the move", func() (bool, string) {
			r, err := p.bob.relationship(dora)
			return err == nil && r.Following, describe(r, err)
		})
		var a account
		if err := p.bob.call("GET", "/api/v1/accounts/"+p.idOf(t, p.bob, p.mover.acct), nil, &a); err != nil || a.Moved == nil {
			t.Errorf("Roost does not show %s as moved: %+v %v", p.mover.acct, a, err)
		}
	})
	p.step(t, "account move roost→gts", []string{"resolve gts→roost"}, func(t *testing.T) {
		// lock follows max; max moves to dest (alias first): GoToSocial
		// moves lock's follow to dest.
		p.follow(t, p.lock, p.max)
		if err := p.dest.call("POST", "/api/v1/accounts/alias", url.Values{"also_known_as_uris": {p.max.uri()}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.max.call("POST", "/api/v1/roost/migration", url.Values{"acct": {p.dest.acct}}, nil); err != nil {
			t.Fatal(err)
		}
		dest := p.idOf(t, p.lock, p.dest.acct)
		eventually(t, p.lock.acct+" follows "+p.dest.acct+" after the move", func() (bool, string) {
			r, err := p.lock.relationship(dest)
			return err == nil && r.Following, describe(r, err)
		})
	})
}
