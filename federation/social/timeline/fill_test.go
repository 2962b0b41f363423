package timeline_test

import (
	"context"
	"slices"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/timeline"
)

// rows is a store of ids 1..n, newest first, paged as the stores page.
func rows(n int64, reads *int) func(federation.Page) ([]int64, error) {
	return func(p federation.Page) ([]int64, error) {
		*reads++
		var out []int64
		if p.MinID > 0 {
			for id := p.MinID + 1; id <= n && len(out) < p.Limit; id++ {
				out = append(out, id)
			}
			slices.Reverse(out)
			return out, nil
		}
		top := n
		if p.MaxID > 0 {
			top = p.MaxID - 1
		}
		for id := top; id >= 1 && len(out) < p.Limit; id-- {
			out = append(out, id)
		}
		return out, nil
	}
}

// TestIssue17StatusListsFillBounded: a page of 2 under many hidden rows
// keeps the newest 2 shown, reads in a few growing batches, and its window
// spans every row read; past MaxScan hidden rows it stops, empty but with
// a window that moves the client on; min_id fills from the bottom.
func TestIssue17StatusListsFillBounded(t *testing.T) {
	ctx := context.Background()
	id := func(v int64) int64 { return v }
	keepBelow := func(limit int64) func([]int64) ([]bool, error) {
		return func(b []int64) ([]bool, error) {
			ok := make([]bool, len(b))
			for i, v := range b {
				ok[i] = v <= limit
			}
			return ok, nil
		}
	}
	reads := 0
	got, w, err := timeline.Fill(ctx, federation.Page{Limit: 2}, id, rows(1000, &reads), keepBelow(900))
	if err != nil || !slices.Equal(got, []int64{900, 899}) || w != (timeline.Window{Newest: 1000, Oldest: 899}) || reads > 5 {
		t.Fatalf("got %v window %+v reads %d err %v", got, w, reads, err)
	}
	reads = 0
	got, w, err = timeline.Fill(ctx, federation.Page{Limit: 2}, id, rows(1000, &reads), keepBelow(10))
	if err != nil || len(got) != 0 || w.Newest != 1000 || w.Oldest > 1000-timeline.MaxScan || w.Oldest <= 10 || reads > 15 {
		t.Fatalf("unbounded: got %v window %+v reads %d err %v", got, w, reads, err)
	}
	reads = 0
	got, w, err = timeline.Fill(ctx, federation.Page{Limit: 2, MinID: 800}, id, rows(1000, &reads), keepBelow(900))
	if err != nil || !slices.Equal(got, []int64{802, 801}) || w != (timeline.Window{Newest: 802, Oldest: 801}) {
		t.Fatalf("min_id: got %v window %+v err %v", got, w, err)
	}
}
