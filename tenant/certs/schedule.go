package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/caddyserver/certmagic"
)

// When a certificate is renewed decides whether 100,000 certificates
// issued in the same week all come due in the same hours. The sweep
// renews each certificate at its own time:
//
//   - ACME Renewal Information (RFC 9773): the CA's suggested window, and
//     the moment certmagic picked uniformly at random inside it. certmagic
//     uses a stored window (on handshakes, and in RenewCertSync's own
//     check) but, for on-demand certificates, never fetches the first
//     one; the sweep fetches it once a certificate is stored and again
//     after the CA's Retry-After once half its lifetime is gone, and
//     stores it where certmagic reads it (the certificate's metadata).
//   - Without ARI (a CA without it, or the fetch failed): certmagic's
//     window (the last RenewalWindowRatio of the lifetime) moved earlier
//     by a per-name offset of up to a third of that window, so a batch
//     issued in one hour is renewed over days.
//
// Whatever the schedule, every order passes the instance's OrderBudget.

// ARI fetches are bounded per sweep (the sweep runs every few hours; a
// name whose fetch is left over is fetched at the next sweep, urgent
// names first).
const maxARIFetchesPerSweep = 2000

// renewalInfo mirrors the stored ARI fields (acmez's acme.RenewalInfo).
type renewalInfo struct {
	SuggestedWindow struct {
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	} `json:"suggestedWindow"`
	RetryAfter   *time.Time `json:"_retryAfter,omitempty"`
	SelectedTime time.Time  `json:"_selectedTime"`
}

func (r *renewalInfo) hasWindow() bool {
	return r != nil && !r.SuggestedWindow.Start.IsZero() && r.SuggestedWindow.End.After(r.SuggestedWindow.Start)
}

// stored is one certificate as the sweep reads it from storage.
type stored struct {
	name, issuerKey string
	leaf            *x509.Certificate
	meta            map[string]json.RawMessage // the .json beside the certificate
	issuerData      map[string]json.RawMessage
	ari             *renewalInfo
}

func (m *Manager) loadStored(ctx context.Context, issuerKey, name string) (*stored, error) {
	certPEM, err := m.storage.Load(ctx, certmagic.StorageKeys.SiteCert(issuerKey, name))
	if err != nil {
		return nil, err
	}
	leaf, err := parseLeaf(certPEM)
	if err != nil {
		return nil, err
	}
	s := &stored{name: name, issuerKey: issuerKey, leaf: leaf, meta: map[string]json.RawMessage{}, issuerData: map[string]json.RawMessage{}}
	if b, err := m.storage.Load(ctx, certmagic.StorageKeys.SiteMeta(issuerKey, name)); err == nil {
		_ = json.Unmarshal(b, &s.meta)
		_ = json.Unmarshal(s.meta["issuer_data"], &s.issuerData)
		if raw, ok := s.issuerData["renewal_info"]; ok {
			var ri renewalInfo
			if json.Unmarshal(raw, &ri) == nil {
				s.ari = &ri
			}
		}
	}
	return s, nil
}

// needsARI says whether the sweep should (re)fetch s's renewal window.
func (m *Manager) needsARI(s *stored, now time.Time) bool {
	if !s.ari.hasWindow() {
		return true
	}
	half := s.leaf.NotBefore.Add(s.leaf.NotAfter.Sub(s.leaf.NotBefore) / 2)
	return now.After(half) && (s.ari.RetryAfter == nil || now.After(*s.ari.RetryAfter))
}

// fetchARI asks the CA for s's renewal window and stores it in the
// certificate's metadata, where certmagic also reads it.
func (m *Manager) fetchARI(ctx context.Context, s *stored) error {
	getter, ok := m.cfg.Issuers[0].(certmagic.RenewalInfoGetter)
	if !ok {
		return fmt.Errorf("issuer %s has no renewal information", s.issuerKey)
	}
	info, err := getter.GetRenewalInfo(ctx, certmagic.Certificate{Certificate: tls.Certificate{Leaf: s.leaf}})
	if err != nil {
		return err
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return err
	}
	var ri renewalInfo
	if err := json.Unmarshal(raw, &ri); err != nil || !ri.hasWindow() {
		return fmt.Errorf("unusable renewal window from the CA")
	}
	// Keep the moment picked before if the window did not move (RFC 9773
	// section 4.2: the random choice is made once per window).
	if s.ari.hasWindow() && s.ari.SuggestedWindow == ri.SuggestedWindow && !s.ari.SelectedTime.IsZero() {
		ri.SelectedTime = s.ari.SelectedTime
		if raw, err = json.Marshal(mergeSelected(info, ri.SelectedTime)); err != nil {
			return err
		}
	}
	s.issuerData["renewal_info"] = raw
	s.ari = &ri
	if s.meta["issuer_data"], err = json.Marshal(s.issuerData); err != nil {
		return err
	}
	if _, ok := s.meta["sans"]; !ok {
		s.meta["sans"], _ = json.Marshal([]string{s.name})
	}
	b, err := json.MarshalIndent(s.meta, "", "\t")
	if err != nil {
		return err
	}
	return m.storage.Store(ctx, certmagic.StorageKeys.SiteMeta(s.issuerKey, s.name), b)
}

// mergeSelected re-encodes the CA's answer with an earlier selected time.
func mergeSelected(info any, selected time.Time) map[string]any {
	raw, _ := json.Marshal(info)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	out["_selectedTime"] = selected
	return out
}

// renewAt is when the sweep renews s: the ARI moment when the CA gave a
// window, else certmagic's window start moved earlier by the name's
// spread; never later than the last twentieth of the lifetime.
func (m *Manager) renewAt(s *stored) time.Time {
	lifetime := s.leaf.NotAfter.Sub(s.leaf.NotBefore)
	emergency := s.leaf.NotAfter.Add(-lifetime / 20)
	var at time.Time
	if s.ari.hasWindow() {
		at = s.ari.SelectedTime
		if at.IsZero() || at.Before(s.ari.SuggestedWindow.Start) || at.After(s.ari.SuggestedWindow.End) {
			at = s.ari.SuggestedWindow.Start.Add(spread(s.name, s.ari.SuggestedWindow.End.Sub(s.ari.SuggestedWindow.Start)))
		}
	} else {
		window := time.Duration(float64(lifetime) * m.ratio)
		at = s.leaf.NotAfter.Add(-window).Add(-spread(s.name, window/3))
	}
	if at.After(emergency) {
		at = emergency
	}
	return at
}

// spread is name's fixed offset in [0, span): the same on every node and
// every sweep, uniform over names.
func spread(name string, span time.Duration) time.Duration {
	if span <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(span))
}
