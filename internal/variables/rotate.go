package variables

import (
	"context"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// rotateRounds bounds the passes of RotateKey over values written by other
// processes while it runs.
const rotateRounds = 10

// RotateKey puts a new key first in the key file, seals every secret value
// (secret variables, named secrets, repository credentials, environments'
// shared passwords, the items of the certificate storage: certificates,
// their private keys, ACME accounts, managed resources' passwords, and notification webhooks' signing secrets) again with it and then retires the old
// keys. Processes that share the key file follow it as it changes, so
// Liftoff may keep serving meanwhile. It
// returns the new key's id and how many values it sealed again. When it
// fails, the old keys stay in the file and every value still opens; running
// it again finishes the job.
func (s *Service) RotateKey(ctx context.Context) (keyID string, resealed int, err error) {
	keyID, err = secretbox.AddKey(s.Keys.Path())
	if err != nil {
		return "", 0, err
	}
	if s.Keys.Primary() != keyID {
		return "", 0, fmt.Errorf("rotate the secret key: the key file %s did not take the new key", s.Keys.Path())
	}
	for range rotateRounds {
		n, left, err := s.resealAll(ctx, keyID)
		resealed += n
		if err != nil {
			return keyID, resealed, err
		}
		if left == 0 {
			return keyID, resealed, secretbox.RetireKeys(s.Keys.Path(), keyID)
		}
	}
	return keyID, resealed, fmt.Errorf("rotate the secret key: values kept changing under other keys after %d passes; run it again", rotateRounds)
}

// resealAll seals every value not under keyID again; left counts those that
// changed while it ran.
func (s *Service) resealAll(ctx context.Context, keyID string) (resealed, left int, err error) {
	vars, err := s.Store.ListVariables(ctx, store.ListVariablesParams{})
	if err != nil {
		return 0, 0, err
	}
	for _, v := range vars {
		if v.Kind != liftoff.VariableSecret || v.KeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, v.KeyID, v.Sealed, variableAAD(v), func(id string, sealed []byte) (bool, error) {
			return s.Store.ResealVariable(ctx, store.ResealParams[liftoff.Variable]{Old: v, KeyID: id, Sealed: sealed, At: s.Now()})
		})
		if err != nil {
			return resealed, left, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		resealed, left = count(ok, resealed, left)
	}
	secrets, err := s.Store.ListSecrets(ctx, store.ListVariablesParams{})
	if err != nil {
		return resealed, left, err
	}
	for _, sec := range secrets {
		if sec.KeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, sec.KeyID, sec.Sealed, secretAAD(sec), func(id string, sealed []byte) (bool, error) {
			return s.Store.ResealSecret(ctx, store.ResealParams[liftoff.Secret]{Old: sec, KeyID: id, Sealed: sealed, At: s.Now()})
		})
		if err != nil {
			return resealed, left, fmt.Errorf("secret %s: %w", printable(sec.Name), err)
		}
		resealed, left = count(ok, resealed, left)
	}
	protections, err := s.Store.ListEnvironmentProtections(ctx)
	if err != nil {
		return resealed, left, err
	}
	for _, p := range protections {
		if !p.HasPassword() || p.PasswordKeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, p.PasswordKeyID, p.PasswordSealed, liftoff.ProtectionPasswordAAD(p.EnvironmentID),
			func(id string, sealed []byte) (bool, error) {
				return s.Store.ResealProtectionPassword(ctx, store.ResealParams[liftoff.EnvironmentProtection]{Old: p, KeyID: id, Sealed: sealed, At: s.Now()})
			})
		if err != nil {
			return resealed, left, fmt.Errorf("password of environment %d: %w", p.EnvironmentID, err)
		}
		resealed, left = count(ok, resealed, left)
	}
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		return resealed, left, err
	}
	for _, p := range projects {
		cred, err := s.Store.GetRepoCredential(ctx, store.GetRepoCredentialParams{ProjectID: p.ID})
		if err != nil {
			return resealed, left, err
		}
		id := secretbox.TextKeyID(cred.Userinfo)
		if id == "" || id == keyID {
			continue // none, or not sealed yet (liftoff serve seals it at start)
		}
		aad := liftoff.RepoCredentialAAD(p.ID)
		plain, err := s.Keys.OpenText(cred.Userinfo, aad)
		if err != nil {
			return resealed, left, fmt.Errorf("repository credential of project %s: %w", p.ID, err)
		}
		again, err := s.Keys.SealText(plain, aad)
		if err != nil {
			return resealed, left, err
		}
		ok, err := s.Store.ReplaceRepoCredential(ctx, store.ReplaceRepoCredentialParams{ProjectID: p.ID, Old: cred,
			New: liftoff.RepoCredential{Userinfo: again}})
		if err != nil {
			return resealed, left, err
		}
		resealed, left = count(ok, resealed, left)
	}
	items, err := s.Store.ListCertificateItems(ctx, store.ListCertificateItemsParams{Sealed: true})
	if err != nil {
		return resealed, left, err
	}
	for _, it := range items {
		if it.KeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, it.KeyID, it.Sealed, liftoff.CertificateItemAAD(it.Key), func(id string, sealed []byte) (bool, error) {
			return s.Store.ResealCertificateItem(ctx, store.ResealParams[liftoff.CertificateItem]{Old: it, KeyID: id, Sealed: sealed, At: s.Now()})
		})
		if err != nil {
			return resealed, left, fmt.Errorf("certificate item %s: %w", it.Key, err)
		}
		resealed, left = count(ok, resealed, left)
	}
	managed, err := s.Store.ListManagedResources(ctx, store.ListManagedResourcesParams{AllInstances: true})
	if err != nil {
		return resealed, left, err
	}
	for _, m := range managed {
		if m.KeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, m.KeyID, m.Sealed, liftoff.ManagedResourceAAD(m.Kind, m.Name), func(id string, sealed []byte) (bool, error) {
			return s.Store.ResealManagedResource(ctx, store.ResealParams[liftoff.ManagedResource]{Old: m, KeyID: id, Sealed: sealed, At: s.Now()})
		})
		if err != nil {
			return resealed, left, fmt.Errorf("password of managed resource %s: %w", m.Name, err)
		}
		resealed, left = count(ok, resealed, left)
	}
	endpoints, err := s.Store.ListNotificationEndpoints(ctx, store.ListNotificationEndpointsParams{})
	if err != nil {
		return resealed, left, err
	}
	for _, e := range endpoints {
		if e.KeyID == keyID {
			continue
		}
		ok, err := reseal(ctx, s, e.KeyID, e.Sealed, liftoff.NotificationSecretAAD(e.ID), func(id string, sealed []byte) (bool, error) {
			return s.Store.ResealNotificationEndpoint(ctx, store.ResealParams[liftoff.NotificationEndpoint]{Old: e, KeyID: id, Sealed: sealed, At: s.Now()})
		})
		if err != nil {
			return resealed, left, fmt.Errorf("secret of notification endpoint %s: %w", e.ID, err)
		}
		resealed, left = count(ok, resealed, left)
	}
	return resealed, left, nil
}

func count(ok bool, resealed, left int) (int, int) {
	if ok {
		return resealed + 1, left
	}
	return resealed, left + 1
}

// reseal opens one value and stores it sealed with the primary key.
func reseal(ctx context.Context, s *Service, keyID string, sealed, aad []byte, put func(string, []byte) (bool, error)) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	plain, err := s.Keys.Open(keyID, sealed, aad)
	if err != nil {
		return false, err
	}
	id, again, err := s.Keys.Seal(plain, aad)
	if err != nil {
		return false, err
	}
	return put(id, again)
}
