package federation

import "context"

// InstanceKeyStore keeps the instance actor's key pair.
type InstanceKeyStore interface {
	// InstanceKeys returns the instance actor's keys, storing generated
	// ones the first time (concurrent first calls agree on one pair).
	InstanceKeys(ctx context.Context, generate func() (KeyPair, error)) (KeyPair, error)
}

type actingHostKey struct{}

// WithActingHost records on whose behalf (which site's actor host)
// outbound fetches made with ctx are signed.
func WithActingHost(ctx context.Context, host string) context.Context {
	return context.WithValue(ctx, actingHostKey{}, host)
}

// ActingHost returns the host set by WithActingHost, or "".
func ActingHost(ctx context.Context) string {
	h, _ := ctx.Value(actingHostKey{}).(string)
	return h
}
