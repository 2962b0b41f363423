package postgres

import (
	"context"

	"github.com/roost-social/roost/federation"
)

var _ federation.InstanceKeyStore = (*Store)(nil)

// InstanceKeys loads the instance actor's keys, inserting generated ones
// when there are none yet; the single-row table makes concurrent first
// starts agree.
func (s *Store) InstanceKeys(ctx context.Context, generate func() (federation.KeyPair, error)) (federation.KeyPair, error) {
	var kp federation.KeyPair
	err := s.db.QueryRow(ctx, `select public_key_pem, private_key_pem from instance_actor`).Scan(&kp.PublicPEM, &kp.PrivatePEM)
	if err == nil {
		return kp, nil
	}
	if kp, err = generate(); err != nil {
		return kp, err
	}
	if _, err := s.db.Exec(ctx, `insert into instance_actor (public_key_pem, private_key_pem) values ($1, $2)
		on conflict (id) do nothing`, kp.PublicPEM, kp.PrivatePEM); err != nil {
		return kp, err
	}
	err = s.db.QueryRow(ctx, `select public_key_pem, private_key_pem from instance_actor`).Scan(&kp.PublicPEM, &kp.PrivatePEM)
	return kp, err
}
