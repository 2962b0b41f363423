// Package domainblock is the instance's and each tenant's policy toward
// remote domains: suspend (refuse its inbox POSTs, send it nothing),
// silence (keep its posts out of public timelines), reject media and
// reject reports. A block covers the domain and every subdomain.
//
// The inbox consults it on every POST, so the policy is an immutable
// in-memory snapshot (Policy) that Cache swaps when the store's version
// moves; a lookup is a handful of map reads. Block lists come and go in
// Mastodon's CSV format (ParseList, WriteCSV), and Diff says what an
// import would change before it is applied.
package domainblock

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Severity is what a block does to a domain.
type Severity string

// Severities, as Mastodon names them (silence is its "limit").
const (
	Silence Severity = "silence"
	Suspend Severity = "suspend"
	Noop    Severity = "noop"
)

// ParseSeverity accepts Mastodon's names ("limit" is silence).
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "silence", "limit":
		return Silence, nil
	case "suspend", "":
		return Suspend, nil
	case "noop", "none":
		return Noop, nil
	}
	return "", errs.E(errs.Invalid, "unknown severity %q (use suspend, silence or noop)", s)
}

// Block is one domain block. TenantID 0 is the instance's.
type Block struct {
	ID             int64
	TenantID       int64
	Domain         string
	Severity       Severity
	RejectMedia    bool
	RejectReports  bool
	PublicComment  string
	PrivateComment string
	Obfuscate      bool
	// ImportID is the import that created or last changed it (0: by hand).
	ImportID             int64
	CreatedAt, UpdatedAt time.Time
}

// SameRule reports whether a and b block alike (what a block list
// carries; the private comment is ours and not in lists).
func SameRule(a, b Block) bool {
	return a.Severity == b.Severity && a.RejectMedia == b.RejectMedia && a.RejectReports == b.RejectReports &&
		a.PublicComment == b.PublicComment && a.Obfuscate == b.Obfuscate
}

// NormalizeDomain lower-cases a domain and checks it is a host name
// (a leading "*." is dropped: blocks cover subdomains anyway).
func NormalizeDomain(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", errs.E(errs.Invalid, "the domain is empty")
	}
	if len(d) > 253 || strings.Contains(d, "..") || d[0] == '-' || d[0] == '.' || d[len(d)-1] == '-' {
		return "", errs.E(errs.Invalid, "%q is not a domain name", s)
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return "", errs.E(errs.Invalid, "%q is not a domain name (write internationalised names in their xn-- form)", s)
		}
	}
	return d, nil
}

// hostname lower-cases a host and drops its port.
func hostname(host string) string {
	host = strings.ToLower(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.TrimSuffix(host, ".")
}

// Suffixes are the host and each parent domain: the names a block on
// any of which covers host ("a.b.example" → a.b.example, b.example,
// example).
func Suffixes(host string) []string {
	h := hostname(host)
	if h == "" {
		return nil
	}
	out := []string{h}
	for i := 0; i < len(h); i++ {
		if h[i] == '.' && i+1 < len(h) {
			out = append(out, h[i+1:])
		}
	}
	return out
}

// Verdict is what the blocks in force say about one host for one tenant.
type Verdict struct {
	Suspend, Silence, RejectMedia, RejectReports bool
}

// Policy is an immutable snapshot of every block, by domain.
type Policy struct {
	byDomain map[string][]Block
	n        int
}

// NewPolicy indexes blocks.
func NewPolicy(blocks []Block) *Policy {
	p := &Policy{byDomain: make(map[string][]Block, len(blocks)), n: len(blocks)}
	for _, b := range blocks {
		p.byDomain[b.Domain] = append(p.byDomain[b.Domain], b)
	}
	return p
}

// Len is the number of blocks.
func (p *Policy) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

// Check combines the instance's blocks and tenantID's own that cover
// host (or a parent domain of it): the strictest of each wins.
func (p *Policy) Check(tenantID int64, host string) Verdict {
	var v Verdict
	if p == nil || p.n == 0 {
		return v
	}
	h := hostname(host)
	for {
		for _, b := range p.byDomain[h] {
			if b.TenantID != 0 && b.TenantID != tenantID {
				continue
			}
			v.Suspend = v.Suspend || b.Severity == Suspend
			v.Silence = v.Silence || b.Severity == Silence
			v.RejectMedia = v.RejectMedia || b.RejectMedia || b.Severity == Suspend
			v.RejectReports = v.RejectReports || b.RejectReports || b.Severity == Suspend
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return v
		}
		h = h[i+1:]
	}
}

// Source is where the cache loads blocks from (federation/postgres).
type Source interface {
	// DomainBlocksVersion moves whenever any block changes.
	DomainBlocksVersion(ctx context.Context) (int64, error)
	// AllDomainBlocks returns every block of every scope.
	AllDomainBlocks(ctx context.Context) ([]Block, int64, error)
}

// Cache holds the current Policy for a process. Every Every (default
// 2 s) it reads the store's version, a primary-key read, and reloads
// only when it moved, so a block made on any node is in force on every
// node within that time; Refresh applies one at once (the node that made
// it).
type Cache struct {
	Source Source
	Every  time.Duration
	Log    *slog.Logger

	p       atomic.Pointer[Policy]
	version atomic.Int64
}

// Load reads the blocks once; a node calls it before serving so it never
// answers with an empty policy.
func (c *Cache) Load(ctx context.Context) error {
	blocks, version, err := c.Source.AllDomainBlocks(ctx)
	if err != nil {
		return fmt.Errorf("load domain blocks: %w", err)
	}
	c.p.Store(NewPolicy(blocks))
	c.version.Store(version)
	return nil
}

// Refresh reloads when the version moved; on failure the previous
// policy stays in force.
func (c *Cache) Refresh(ctx context.Context) error {
	v, err := c.Source.DomainBlocksVersion(ctx)
	if err != nil {
		return fmt.Errorf("read domain blocks version: %w", err)
	}
	if v == c.version.Load() && c.p.Load() != nil {
		return nil
	}
	return c.Load(ctx)
}

// Interval is how often Run (or a job calling Refresh) refreshes: Every,
// 2 s by default.
func (c *Cache) Interval() time.Duration {
	if c.Every <= 0 {
		return 2 * time.Second
	}
	return c.Every
}

// Version is the store's version of the policy in force (0 before
// Load): whatever renders with Check may key what it keeps by it (issue
// 21's home page cache). Load stores the policy before its version, so
// a reader that saw a version renders with that policy or a newer one.
func (c *Cache) Version() int64 { return c.version.Load() }

// Check is the current policy's verdict.
func (c *Cache) Check(tenantID int64, host string) Verdict { return c.p.Load().Check(tenantID, host) }

// Suspended reports whether host is suspended for tenantID.
func (c *Cache) Suspended(tenantID int64, host string) bool { return c.Check(tenantID, host).Suspend }

// Block lists.

// csvHeader is Mastodon's export header.
var csvHeader = []string{"#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate"}

// MaxListEntries bounds one list.
const MaxListEntries = 50000

// ParseList reads a block list: Mastodon's CSV (with its header, columns
// in any order) or plain text with one domain per line (suspended; lines
// starting with # are comments). A bad line fails the whole list, naming
// the line, so nothing half-parsed is ever applied. Repeated domains keep
// their last line.
func ParseList(data []byte) ([]Block, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.HasPrefix(bytes.TrimSpace(first), []byte("#domain")) || bytes.HasPrefix(bytes.TrimSpace(first), []byte("domain,")) {
		return parseCSV(data)
	}
	var out []Block
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "!") {
			continue
		}
		d, err := NormalizeDomain(line)
		if err != nil {
			return nil, errs.E(errs.Invalid, "line %d: %s", i+1, errs.MessageOf(err))
		}
		out = append(out, Block{Domain: d, Severity: Suspend})
	}
	return dedupe(out)
}

func parseCSV(data []byte) ([]Block, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, errs.E(errs.Invalid, "the CSV header cannot be read")
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimPrefix(strings.ToLower(strings.TrimSpace(h)), "#")] = i
	}
	if _, ok := col["domain"]; !ok {
		return nil, errs.E(errs.Invalid, "the CSV has no #domain column")
	}
	var out []Block
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errs.E(errs.Invalid, "line %d: not valid CSV", line)
		}
		field := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		if field("domain") == "" {
			continue
		}
		b := Block{}
		if b.Domain, err = NormalizeDomain(field("domain")); err != nil {
			return nil, errs.E(errs.Invalid, "line %d: %s", line, errs.MessageOf(err))
		}
		if b.Severity, err = ParseSeverity(field("severity")); err != nil {
			return nil, errs.E(errs.Invalid, "line %d: %s", line, errs.MessageOf(err))
		}
		for name, dst := range map[string]*bool{"reject_media": &b.RejectMedia, "reject_reports": &b.RejectReports, "obfuscate": &b.Obfuscate} {
			if v := field(name); v != "" {
				if *dst, err = strconv.ParseBool(v); err != nil {
					return nil, errs.E(errs.Invalid, "line %d: %s is %q, not true or false", line, name, v)
				}
			}
		}
		b.PublicComment = field("public_comment")
		if len(b.PublicComment) > 1000 {
			return nil, errs.E(errs.Invalid, "line %d: the public comment is longer than 1000 bytes", line)
		}
		out = append(out, b)
	}
	return dedupe(out)
}

func dedupe(in []Block) ([]Block, error) {
	if len(in) > MaxListEntries {
		return nil, errs.E(errs.TooLarge, "the list has %d entries; at most %d are accepted", len(in), MaxListEntries)
	}
	if len(in) == 0 {
		return nil, errs.E(errs.Invalid, "the list has no domains")
	}
	idx := map[string]int{}
	var out []Block
	for _, b := range in {
		if i, ok := idx[b.Domain]; ok {
			out[i] = b
			continue
		}
		idx[b.Domain] = len(out)
		out = append(out, b)
	}
	return out, nil
}

// WriteCSV writes blocks in Mastodon's export format.
func WriteCSV(w io.Writer, blocks []Block) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for _, b := range blocks {
		cw.Write([]string{b.Domain, string(b.Severity), strconv.FormatBool(b.RejectMedia), strconv.FormatBool(b.RejectReports),
			b.PublicComment, strconv.FormatBool(b.Obfuscate)})
	}
	cw.Flush()
	return cw.Error()
}

// Change kinds of an import.
const (
	Add       = "add"
	Update    = "change"
	Unchanged = "unchanged"
)

// Change is what an import does to one domain.
type Change struct {
	Kind string
	New  Block
	Old  *Block
}

// Diff compares a list with the scope's current blocks (by domain);
// changes come sorted by kind (add, change, unchanged) then domain. A
// changed block keeps its private comment.
func Diff(current map[string]Block, list []Block) []Change {
	out := make([]Change, 0, len(list))
	for _, b := range list {
		old, ok := current[b.Domain]
		switch {
		case !ok:
			out = append(out, Change{Kind: Add, New: b})
		case SameRule(old, b):
			o := old
			out = append(out, Change{Kind: Unchanged, New: old, Old: &o})
		default:
			o := old
			b.PrivateComment = old.PrivateComment
			out = append(out, Change{Kind: Update, New: b, Old: &o})
		}
	}
	rank := map[string]int{Add: 0, Update: 1, Unchanged: 2}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Kind] != rank[out[j].Kind] {
			return rank[out[i].Kind] < rank[out[j].Kind]
		}
		return out[i].New.Domain < out[j].New.Domain
	})
	return out
}

// Suspended reports whether host is suspended for tenantID.
func (p *Policy) Suspended(tenantID int64, host string) bool { return p.Check(tenantID, host).Suspend }
