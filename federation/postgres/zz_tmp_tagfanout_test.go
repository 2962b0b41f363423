package postgres_test

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
)

func TestTmpTagFanoutCost(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	w.exec(`alter system set track_functions = 'pl'`)
	w.exec(`select pg_reload_conf()`)
	w.followTag(w.alice, "cats")
	if _, err := w.db.Exec(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem)
		select $1, 'a.example', 'u' || g, 'x' from generate_series(1, 2000) g`, w.ta); err != nil {
		t.Fatal(err)
	}
	w.exec(`insert into tag_follows (account_id, tag_id) select a.id, t.id from accounts a, tags t where a.username like 'u%' and t.name = 'cats'`)
	w.exec(`analyze`)
	stat := func() (calls int64, ms float64) {
		_ = w.db.QueryRow(ctx, `select coalesce(sum(calls), 0), coalesce(sum(total_time), 0) from pg_stat_user_functions where funcname = 'tag_follows_home_feed'`).Scan(&calls, &ms)
		return
	}
	for _, tag := range []string{"dogs", "cats", "dogs", "cats"} {
		w.exec(`select pg_stat_reset()`)
		for i := 0; i < 50; i++ {
			w.post(w.bob, "#"+tag, federation.Public, []string{tag}, false)
		}
		w.exec(`select pg_stat_force_next_flush()`)
		calls, ms := stat()
		t.Logf("50 posts #%s: trigger calls %d, %.3f ms per post", tag, calls, ms/float64(max(calls, 1)))
	}
}
