package postgres_test

import (
	"context"
	"testing"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

// TestIssue17DeleteAndDescribeMedia: an upload is deleted only by its
// owner and only while no post carries it (Invalid then: 422), its file
// keys coming back for the blobs; alt text changes on an attached upload
// only for the post that carries it.
func TestIssue17DeleteAndDescribeMedia(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	alice := account(t, db, "a.example", "alice")
	carol := account(t, db, "c.example", "carol")
	ms := mediapg.New(db)
	free, err := ms.CreateMedia(ctx, newMedia(alice, "f1"))
	if err != nil {
		t.Fatal(err)
	}
	used, err := ms.CreateMedia(ctx, newMedia(alice, "u1"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := publish(t, fedpg.New(db), alice, []federation.Attachment{used.Federation("https://a.example")}, nil)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := ms.DeleteMedia(ctx, carol.ID, free.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("carol deleting alice's upload: %v", err)
	}
	if _, err := ms.DeleteMedia(ctx, alice.ID, used.ID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("deleting an attached upload: %v", err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{free.ID, used.ID}); len(got) != 2 {
		t.Fatalf("refused deletes removed records: %+v", got)
	}
	keys, err := ms.DeleteMedia(ctx, alice.ID, free.ID)
	if err != nil || len(keys) != 2 || keys[0] != free.FileKey || keys[1] != free.ThumbKey {
		t.Fatalf("delete: %v %v", keys, err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{free.ID}); len(got) != 0 {
		t.Fatal("deleted upload still there")
	}

	if err := ms.DescribeMedia(ctx, alice.ID, st.ID+1, used.ID, "wrong post", 0, 0); !errs.Is(err, errs.NotFound) {
		t.Fatalf("describing through another post: %v", err)
	}
	if err := ms.DescribeMedia(ctx, carol.ID, st.ID, used.ID, "carol's", 0, 0); !errs.Is(err, errs.NotFound) {
		t.Fatalf("carol describing alice's upload: %v", err)
	}
	if err := ms.DescribeMedia(ctx, alice.ID, st.ID, used.ID, "a red kite", 0.25, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{used.ID}); got[0].Description != "a red kite" || got[0].FocusX != 0.25 {
		t.Fatalf("describe: %+v", got[0])
	}
}

// TestIssue17DeleteMediaReservedBySchedule: an upload a scheduled post
// reserves is in use: deleting it is refused (Invalid: 422) and leaves it,
// so the post still has its picture when it publishes.
func TestIssue17DeleteMediaReservedBySchedule(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	alice := account(t, db, "a.example", "alice")
	ms := mediapg.New(db)
	held, err := ms.CreateMedia(ctx, newMedia(alice, "h1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into scheduled_statuses (tenant_id, account_id, scheduled_at, params, media_ids)
		values ($1, $2, now() + interval '1 hour', '{}', array[$3::bigint])`, alice.TenantID, alice.ID, held.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ms.DeleteMedia(ctx, alice.ID, held.ID); !errs.Is(err, errs.Invalid) {
		t.Fatalf("deleting an upload a scheduled post holds: %v", err)
	}
	if got, _ := ms.MediaByIDs(ctx, alice.ID, []int64{held.ID}); len(got) != 1 {
		t.Fatal("the refused delete removed the upload")
	}
}
