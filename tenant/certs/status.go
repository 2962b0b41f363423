package certs

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
)

// Status is one domain's certificate as the admin dashboard shows it.
type Status struct {
	Name string `json:"name"`
	// Issuer is certmagic's issuer key (the CA's directory, or "roost-local").
	Issuer string `json:"issuer,omitempty"`
	// NotBefore and NotAfter bound the current certificate's validity;
	// zero when none was ever obtained.
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// LastError is the last failure to obtain or renew, cleared by the
	// next success.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// statusPrefix holds one small JSON document per name, written when a
// certificate is obtained or fails, so listing needs no certificate parsing.
const statusPrefix = "roost/status"

func statusKey(name string) string {
	return statusPrefix + "/" + certmagic.StorageKeys.Safe(name) + ".json"
}

func (s *Storage) loadStatus(ctx context.Context, name string) Status {
	st := Status{Name: name}
	if b, err := s.kv.Get(ctx, statusKey(name)); err == nil {
		if json.Unmarshal(b, &st) != nil {
			// A damaged document is replaced whole by the next record,
			// not merged half-decoded.
			st = Status{Name: name}
		}
	}
	return st
}

func (s *Storage) saveStatus(ctx context.Context, st Status) error {
	st.UpdatedAt = time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := s.kv.Put(ctx, statusKey(st.Name), b); err != nil {
		return fmt.Errorf("save certificate status of %s: %w", st.Name, err)
	}
	return nil
}

// recordObtained notes a new certificate (read back from certPath).
func (s *Storage) recordObtained(ctx context.Context, name, issuer, certPath string) error {
	b, err := s.kv.Get(ctx, certPath)
	if err != nil {
		return fmt.Errorf("load certificate %s: %w", certPath, err)
	}
	leaf, err := parseLeaf(b)
	if err != nil {
		return fmt.Errorf("certificate %s: %w", certPath, err)
	}
	return s.saveStatus(ctx, Status{Name: name, Issuer: issuer, NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC()})
}

// recordFailure notes a failed obtain or renewal, keeping the expiry of
// the certificate still in use.
func (s *Storage) recordFailure(ctx context.Context, name string, cause error) error {
	st := s.loadStatus(ctx, name)
	st.LastError = cause.Error()
	st.LastErrorAt = time.Now().UTC()
	return s.saveStatus(ctx, st)
}

func parseLeaf(pemBundle []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBundle)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Statuses lists every name that has a certificate or a recorded failure,
// with its expiry and last error, sorted by name. It costs two queries,
// plus one read per certificate whose status was never recorded.
func (s *Storage) Statuses(ctx context.Context) ([]Status, error) {
	docs, err := s.kv.Values(ctx, statusPrefix)
	if err != nil {
		return nil, fmt.Errorf("load certificate statuses: %w", err)
	}
	byName := make(map[string]*Status, len(docs))
	for _, d := range docs {
		var st Status
		if json.Unmarshal(d.Value, &st) == nil && st.Name != "" {
			byName[st.Name] = &st
		}
	}
	files, err := s.kv.List(ctx, "certificates")
	if err != nil {
		return nil, fmt.Errorf("list certificates: %w", err)
	}
	for _, f := range files {
		// certificates/<issuer>/<name>/<name>.crt
		parts := strings.Split(f.Key, "/")
		if len(parts) != 4 || path.Ext(f.Key) != ".crt" {
			continue
		}
		issuer, name := parts[1], parts[2]
		st := byName[name]
		if st != nil && !st.NotAfter.IsZero() && !st.NotBefore.IsZero() && !f.Modified.After(st.UpdatedAt) {
			continue
		}
		b, err := s.kv.Get(ctx, f.Key)
		if err != nil {
			continue
		}
		leaf, err := parseLeaf(b)
		if err != nil {
			continue
		}
		if st == nil {
			st = &Status{Name: name}
			byName[name] = st
		}
		if !leaf.NotAfter.Before(st.NotAfter) {
			st.NotBefore, st.NotAfter, st.Issuer = leaf.NotBefore.UTC(), leaf.NotAfter.UTC(), issuer
		}
	}
	out := make([]Status, 0, len(byName))
	for _, st := range byName {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
