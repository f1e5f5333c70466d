// Package resources makes the managed resources of environments on
// servers the operator runs: for an rds service (engine postgres) a
// database and a role of its own on one PostgreSQL server, for an
// elasticache service an ACL user limited to a key prefix of its own on
// one Redis server; one per service of each environment and each preview
// instance. It records each in the store before it makes it (its password
// sealed), so that every replica knows them, a failure midway removes what
// was made, and a crash midway is cleaned up by the next attempt. It drops
// a preview's resources when the preview is torn down, and a normal
// environment's only when the operator asks (Delete).
package resources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/liftoffhq/liftoff/internal/config"
	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/secretbox"
	"github.com/liftoffhq/liftoff/internal/store"
)

// Config says which servers Liftoff may manage.
type Config struct {
	// PostgresURL is postgres://role:password@host:port/database of a
	// role with CREATEDB and CREATEROLE. Empty: rds services are not
	// made.
	PostgresURL string
	// RedisURL is redis://user:password@host:port[/db] of a user allowed
	// to manage ACL users. Empty: elasticache services are not made.
	RedisURL string
}

// Service makes, reads and drops managed resources.
type Service struct {
	store store.Store
	keys  *secretbox.Keyring
	newID func() string
	now   func() time.Time
	log   *slog.Logger
	pg    *postgresServer // nil: no PostgreSQL to manage
	redis *redisServer    // nil: no Redis to manage
}

// New checks cfg's URLs (it connects to nothing) and returns the service.
func New(cfg Config, st store.Store, keys *secretbox.Keyring, newID func() string, log *slog.Logger) (*Service, error) {
	s := &Service{store: st, keys: keys, newID: newID, now: time.Now, log: log}
	var err error
	if cfg.PostgresURL != "" {
		if s.pg, err = newPostgresServer(cfg.PostgresURL); err != nil {
			return nil, err
		}
	}
	if cfg.RedisURL != "" {
		if s.redis, err = newRedisServer(cfg.RedisURL); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Available says which kinds of resources this Liftoff makes
// (config.ManagedPostgres, config.ManagedRedis).
func (s *Service) Available() map[string]bool {
	if s == nil {
		return nil
	}
	return map[string]bool{config.ManagedPostgres: s.pg != nil, config.ManagedRedis: s.redis != nil}
}

// Resource is a managed resource with what its services read of it.
type Resource struct {
	liftoff.ManagedResource
	// Values are what fromService reads: for PostgreSQL dbConnectionString,
	// host, port, username, password and dbName; for Redis
	// connectionString, host, port, username, authToken and prefix.
	Values map[string]string
	// Secret names the values that must not be shown.
	Secret map[string]bool
	// Env are the variables a service that reads it gets besides
	// (LIFTOFF_REDIS_PREFIX).
	Env map[string]string
}

// RedisPrefixVariable tells a service that reads a managed Redis the
// prefix its keys and channels must start with.
const RedisPrefixVariable = "LIFTOFF_REDIS_PREFIX"

// Ensure returns the resource of svc (a managed service, config.Managed)
// for the environment instance id, made first when it has none: created
// says so. seedFrom, for a preview's PostgreSQL database, is the resource
// whose database is copied into it when it is made (nil: empty).
func (s *Service) Ensure(ctx context.Context, id Identity, svc config.Service, seedFrom *liftoff.ManagedResource) (res Resource, created bool, err error) {
	kind := svc.Managed()
	if why := svc.NotManagedReason(s.Available()); kind == "" || why != "" {
		return Resource{}, false, fmt.Errorf("service %s is not made by this Liftoff: %s", svc.ID, why)
	}
	m, err := s.store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: id.EnvironmentID, PRNumber: id.PRNumber, ServiceID: svc.ID})
	switch {
	case err == nil && m.State == liftoff.ResourceAvailable && m.Kind == kind:
		res, err := s.open(m)
		if err != nil {
			return Resource{}, false, err
		}
		return res, false, s.check(ctx, res)
	case err == nil && m.State == liftoff.ResourceAvailable:
		return Resource{}, false, fmt.Errorf("service %s was a %s resource (%s) and is %s in the config now: drop the old one "+
			"(liftoff resources delete) for the new one to be made", svc.ID, m.Kind, m.Name, kind)
	case err == nil:
		// Left half-made by a Liftoff that stopped, or half-dropped:
		// removed, then made anew.
		if err := s.drop(ctx, m); err != nil {
			return Resource{}, false, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return Resource{}, false, err
	}
	res, err = s.create(ctx, id, kind, seedFrom)
	return res, err == nil, err
}

// check makes sure an available resource is still on its server: a
// database is looked for (gone, it is an error the operator resolves); a
// Redis user is set again (a server restarted without an aclfile forgot
// it).
func (s *Service) check(ctx context.Context, res Resource) error {
	switch res.Kind {
	case config.ManagedPostgres:
		ok, err := s.pg.exists(ctx, res.Name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("database %s is gone from the managed PostgreSQL server: restore it (pg_restore), or make it anew, empty, "+
				"with `liftoff resources delete` and a deployment", res.Name)
		}
	case config.ManagedRedis:
		return s.redis.create(ctx, res.Name, res.Values["authToken"], true)
	}
	return nil
}

// create records a new resource, makes it on its server and marks it
// available; when making fails, it is removed from the server and the
// store again.
func (s *Service) create(ctx context.Context, id Identity, kind string, seedFrom *liftoff.ManagedResource) (Resource, error) {
	name, password := Name(id), newPassword()
	keyID, sealed, err := s.keys.Seal([]byte(password), liftoff.ManagedResourceAAD(kind, name))
	if err != nil {
		return Resource{}, err
	}
	now := s.now()
	m := liftoff.ManagedResource{ID: s.newID(), ProjectID: id.ProjectID, EnvironmentID: id.EnvironmentID, PRNumber: id.PRNumber,
		ServiceID: id.ServiceID, Kind: kind, Name: name, KeyID: keyID, Sealed: sealed, State: liftoff.ResourceCreating,
		CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertManagedResource(ctx, m); err != nil {
		return Resource{}, err
	}
	switch kind {
	case config.ManagedPostgres:
		var seed func(context.Context) error
		if seedFrom != nil {
			seed = func(ctx context.Context) error { return s.seed(ctx, *seedFrom, name, password) }
		}
		err = s.pg.create(ctx, name, password, seed)
	case config.ManagedRedis:
		err = s.redis.create(ctx, name, password, false)
	}
	var left *leftError
	switch {
	case errors.As(err, &left):
		// What was made could not all be removed: the record stays,
		// creating, for the next attempt to remove it first.
		return Resource{}, err
	case err != nil:
		// Nothing of it is on the server.
		if forget := s.store.DeleteManagedResource(context.WithoutCancel(ctx), store.DeleteManagedResourceParams{ID: m.ID}); forget != nil {
			s.log.Warn("forget a resource that could not be made", "name", name, "err", forget)
		}
		return Resource{}, err
	}
	if err := s.store.SetManagedResourceState(ctx, store.SetManagedResourceStateParams{ID: m.ID, State: liftoff.ResourceAvailable, At: s.now()}); err != nil {
		// Made, and recorded creating: the next attempt removes it and
		// makes it again.
		return Resource{}, err
	}
	m.State = liftoff.ResourceAvailable
	return s.open(m)
}

// seed copies the database of from into the new database name.
func (s *Service) seed(ctx context.Context, from liftoff.ManagedResource, name, password string) error {
	src, err := s.open(from)
	if err != nil {
		return err
	}
	return s.pg.copyInto(ctx, from.Name, src.Values["password"], name, password)
}

// open opens a resource's password and gives its values.
func (s *Service) open(m liftoff.ManagedResource) (Resource, error) {
	plain, err := s.keys.Open(m.KeyID, m.Sealed, liftoff.ManagedResourceAAD(m.Kind, m.Name))
	if err != nil {
		return Resource{}, fmt.Errorf("the password of %s could not be decrypted: %w", m.Name, err)
	}
	password := string(plain)
	res := Resource{ManagedResource: m}
	switch m.Kind {
	case config.ManagedPostgres:
		if s.pg == nil {
			return Resource{}, errors.New("no managed PostgreSQL configured (liftoff serve --managed-postgres-url)")
		}
		url := s.pg.appURL(m.Name, password)
		res.Values = map[string]string{"dbConnectionString": url, "host": s.pg.host(), "port": s.pg.port(),
			"username": m.Name, "password": password, "dbName": m.Name}
		res.Secret = map[string]bool{"dbConnectionString": true, "password": true}
	case config.ManagedRedis:
		if s.redis == nil {
			return Resource{}, errors.New("no managed Redis configured (liftoff serve --managed-redis-url)")
		}
		url := s.redis.appURL(m.Name, password)
		res.Values = map[string]string{"connectionString": url, "host": s.redis.host(), "port": s.redis.port(),
			"username": m.Name, "authToken": password, "prefix": m.Name + ":"}
		res.Secret = map[string]bool{"connectionString": true, "authToken": true}
		res.Env = map[string]string{RedisPrefixVariable: m.Name + ":"}
	default:
		return Resource{}, fmt.Errorf("resource %s is of a kind (%s) this Liftoff does not know", m.Name, m.Kind)
	}
	return res, nil
}

// drop removes a resource from its server, then forgets it.
func (s *Service) drop(ctx context.Context, m liftoff.ManagedResource) error {
	if m.State != liftoff.ResourceDeleting {
		if err := s.store.SetManagedResourceState(ctx, store.SetManagedResourceStateParams{ID: m.ID, State: liftoff.ResourceDeleting, At: s.now()}); err != nil {
			return err
		}
	}
	var err error
	switch m.Kind {
	case config.ManagedPostgres:
		if s.pg == nil {
			return fmt.Errorf("drop database %s: no managed PostgreSQL configured (liftoff serve --managed-postgres-url)", m.Name)
		}
		err = s.pg.drop(ctx, m.Name)
	case config.ManagedRedis:
		if s.redis == nil {
			return fmt.Errorf("drop Redis user %s: no managed Redis configured (liftoff serve --managed-redis-url)", m.Name)
		}
		err = s.redis.drop(ctx, m.Name)
	}
	if err != nil {
		return err
	}
	if err := s.store.DeleteManagedResource(ctx, store.DeleteManagedResourceParams{ID: m.ID}); err != nil {
		return err
	}
	s.log.Info("managed resource dropped", "kind", m.Kind, "name", m.Name, "environment_id", m.EnvironmentID, "pr", m.PRNumber)
	return nil
}

// Get returns the resource of a service of an environment instance.
func (s *Service) Get(ctx context.Context, environmentID int64, prNumber int, serviceID string) (Resource, error) {
	m, err := s.store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: environmentID, PRNumber: prNumber, ServiceID: serviceID})
	if err != nil {
		return Resource{}, err
	}
	return s.open(m)
}

// List lists the resources of an environment, of every instance.
func (s *Service) List(ctx context.Context, environmentID int64) ([]liftoff.ManagedResource, error) {
	return s.store.ListManagedResources(ctx, store.ListManagedResourcesParams{EnvironmentID: environmentID, AllInstances: true})
}

// DropInstance drops every resource of an environment instance (a
// preview torn down) and returns those it dropped.
func (s *Service) DropInstance(ctx context.Context, environmentID int64, prNumber int) ([]liftoff.ManagedResource, error) {
	list, err := s.store.ListManagedResources(ctx, store.ListManagedResourcesParams{EnvironmentID: environmentID, PRNumber: prNumber})
	if err != nil {
		return nil, err
	}
	for i, m := range list {
		if err := s.drop(ctx, m); err != nil {
			return list[:i], err
		}
	}
	return list, nil
}

// Delete drops the resource of a service of an environment instance, its
// data with it; the next deployment makes it anew, empty. ErrNotFound
// when it has none; a fail.Conflict while a deployment of the instance
// runs (it may be making it or handing it to its services).
func (s *Service) Delete(ctx context.Context, environmentID int64, prNumber int, serviceID string) (liftoff.ManagedResource, error) {
	m, err := s.store.GetManagedResource(ctx, store.GetManagedResourceParams{EnvironmentID: environmentID, PRNumber: prNumber, ServiceID: serviceID})
	if err != nil {
		return liftoff.ManagedResource{}, err
	}
	running, err := s.store.InstanceRunning(ctx, store.InstanceRunningParams{EnvironmentID: environmentID, PRNumber: prNumber})
	if err != nil {
		return liftoff.ManagedResource{}, err
	}
	if running {
		return liftoff.ManagedResource{}, fail.Newf(fail.Conflict, "a deployment of the environment runs: delete %s once it ended", m.Name)
	}
	if err := s.drop(ctx, m); err != nil {
		return liftoff.ManagedResource{}, fail.Wrap(fail.Unavailable, err, "could not drop "+m.Name+": "+err.Error())
	}
	return m, nil
}

// ErrNotPostgres: a dump was asked of a resource that is no database.
var ErrNotPostgres = errors.New("only a PostgreSQL database (an rds service) can be dumped")

// Dump writes a pg_dump (custom format, for pg_restore) of the database of
// a service of an environment instance to w, made as the database's own
// role.
func (s *Service) Dump(ctx context.Context, environmentID int64, prNumber int, serviceID string, w io.Writer) error {
	res, err := s.Get(ctx, environmentID, prNumber, serviceID)
	if err != nil {
		return err
	}
	if res.Kind != config.ManagedPostgres {
		return fail.Wrap(fail.Invalid, ErrNotPostgres, ErrNotPostgres.Error()+": "+serviceID+" is a Redis user")
	}
	if res.State != liftoff.ResourceAvailable {
		return fail.Newf(fail.Conflict, "database %s is %s, not available", res.Name, res.State)
	}
	return s.pg.dump(ctx, res.Name, res.Values["password"], w)
}
