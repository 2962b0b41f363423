package timeline

import (
	"context"
	"slices"

	"github.com/roost-social/roost/federation"
)

// MaxScan bounds the rows one page reads beyond its limit while the
// viewer's filters (or anything decided after the query) leave some out:
// a page stays a bounded amount of work however much is hidden.
const MaxScan = 400

// refill is the fewest rows each read after the first asks for: a small
// page thinned by many hidden rows fills in a few queries, not hundreds.
const refill = 40

// Window is the cursors a page covered, newest and oldest: the Link
// cursors. A page the viewer's filters thinned still advances by every
// row it read, not only by the rows it kept.
type Window struct{ Newest, Oldest int64 }

// scanned is one row read while filling a page, newest first.
type scanned struct {
	id   int64
	kept bool
}

// Fill reads rows through read (each call one store page, newest first)
// until p.Limit are kept, the rows run out or MaxScan more were read, and
// returns the kept rows, in page order, and the window read. id is a row's
// cursor; keep judges one batch. With MinID the page is the oldest p.Limit
// kept above it, else the newest.
func Fill[T any](ctx context.Context, p federation.Page, id func(T) int64, read func(federation.Page) ([]T, error),
	keep func([]T) ([]bool, error)) ([]T, Window, error) {
	var rows []T
	var seen []scanned
	cur, kept := p, 0
	for len(seen) < MaxScan+p.Limit {
		if err := ctx.Err(); err != nil {
			return nil, Window{}, err
		}
		batch, err := read(cur)
		if err != nil {
			return nil, Window{}, err
		}
		if len(batch) == 0 {
			break
		}
		ok, err := keep(batch)
		if err != nil {
			return nil, Window{}, err
		}
		for i, r := range batch {
			if ok[i] {
				kept++
			}
			seen = append(seen, scanned{id: id(r), kept: ok[i]})
			rows = append(rows, r)
		}
		if len(batch) < cur.Limit || kept >= p.Limit {
			break
		}
		cur.Limit = max(cur.Limit, refill)
		if p.MinID > 0 {
			cur.MinID = id(batch[0])
		} else {
			cur.MaxID = id(batch[len(batch)-1])
		}
	}
	page, w := window(p, rows, seen)
	return page, w, nil
}

// window orders what Fill read newest first and cuts it at p.Limit kept:
// from the newest down, or with MinID from the oldest up.
func window[T any](p federation.Page, rows []T, seen []scanned) ([]T, Window) {
	idx := make([]int, len(seen))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case seen[a].id > seen[b].id:
			return -1
		case seen[a].id < seen[b].id:
			return 1
		}
		return 0
	})
	if p.MinID > 0 {
		slices.Reverse(idx) // oldest first, to cut from the bottom
	}
	var out []int
	kept := 0
	for _, i := range idx {
		if kept == p.Limit {
			break
		}
		out = append(out, i)
		if seen[i].kept {
			kept++
		}
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	var w Window
	var page []T
	for _, i := range out {
		if w.Newest == 0 {
			w.Newest = seen[i].id
		}
		w.Oldest = seen[i].id
		if seen[i].kept {
			page = append(page, rows[i])
		}
	}
	return page, w
}
