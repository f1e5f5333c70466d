package resources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// postgresServer is the operator's PostgreSQL server, reached as a role
// with CREATEDB and CREATEROLE (or a superuser).
type postgresServer struct {
	url *url.URL // the operator's URL, password included
}

func newPostgresServer(raw string) (*postgresServer, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return nil, errors.New("--managed-postgres-url must be a postgres://user:password@host:port/database URL")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("--managed-postgres-url names no role: postgres://ROLE:password@host:port/database")
	}
	if _, err := pgx.ParseConfig(raw); err != nil {
		return nil, fmt.Errorf("--managed-postgres-url: %w", scrubbed(err, u))
	}
	return &postgresServer{url: u}, nil
}

// host and port are where applications reach the server: the operator's
// URL's.
func (p *postgresServer) host() string { return p.url.Hostname() }

func (p *postgresServer) port() string {
	if port := p.url.Port(); port != "" {
		return port
	}
	return "5432"
}

// appURL is the URL of database name as role name with password.
func (p *postgresServer) appURL(name, password string) string {
	u := *p.url
	u.User = url.UserPassword(name, password)
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

// connect opens a connection as the operator's role.
func (p *postgresServer) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, p.url.String())
	if err != nil {
		return nil, fmt.Errorf("connect to the managed PostgreSQL server %s: %w", p.url.Host, scrubbed(err, p.url))
	}
	return conn, nil
}

// checkPrivileges says what the operator's role lacks to make databases.
func checkPrivileges(ctx context.Context, conn *pgx.Conn) (superuser bool, err error) {
	var role string
	var createRole, createDB bool
	if err := conn.QueryRow(ctx, `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user`).
		Scan(&role, &superuser, &createRole, &createDB); err != nil {
		return false, fmt.Errorf("read the privileges of the managed PostgreSQL role: %w", err)
	}
	if superuser || (createRole && createDB) {
		return superuser, nil
	}
	var missing []string
	if !createRole {
		missing = append(missing, "CREATEROLE")
	}
	if !createDB {
		missing = append(missing, "CREATEDB")
	}
	return false, fmt.Errorf("the role %s of --managed-postgres-url lacks %s: give it with ALTER ROLE %s %s",
		role, strings.Join(missing, " and "), pgx.Identifier{role}.Sanitize(), strings.Join(missing, " "))
}

// create makes role name with password and database name owned by it, that
// no other role may connect to. When a step fails, what the steps before
// it made is dropped again: nothing half-made stays.
func (p *postgresServer) create(ctx context.Context, name, password string, seed func(context.Context) error) (err error) {
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	superuser, err := checkPrivileges(ctx, conn)
	if err != nil {
		return err
	}
	verifier, err := scramVerifier(password)
	if err != nil {
		return err
	}
	ident := pgx.Identifier{name}.Sanitize()
	var undo []string
	defer func() {
		if err == nil {
			return
		}
		// Undone in the reverse order, on a context that outlives a
		// cancelled deployment.
		bg := context.WithoutCancel(ctx)
		for i := len(undo) - 1; i >= 0; i-- {
			if _, uerr := conn.Exec(bg, undo[i]); uerr != nil {
				err = errors.Join(err, &leftError{what: undo[i], err: uerr})
			}
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE ROLE `+ident+` LOGIN PASSWORD `+quoteLiteral(verifier)); err != nil {
		return fmt.Errorf("create role %s: %w", name, pgMessage(err))
	}
	undo = append(undo, `DROP ROLE IF EXISTS `+ident)
	if !superuser {
		// To own its database, and to drop it (and end its sessions)
		// later, the operator's role must be a member of it.
		if _, err := conn.Exec(ctx, `GRANT `+ident+` TO CURRENT_USER`); err != nil {
			return fmt.Errorf("grant role %s to the managed PostgreSQL role: %w", name, pgMessage(err))
		}
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+ident+` OWNER `+ident); err != nil {
		return fmt.Errorf("create database %s: %w", name, pgMessage(err))
	}
	undo = append(undo, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `REVOKE ALL ON DATABASE `+ident+` FROM PUBLIC`); err != nil {
		return fmt.Errorf("keep other roles out of database %s: %w", name, pgMessage(err))
	}
	if seed != nil {
		if err := seed(ctx); err != nil {
			return err
		}
	}
	return nil
}

// leftError says that removing what a failed creation made failed too:
// something of it may be left on the server.
type leftError struct {
	what string
	err  error
}

func (e *leftError) Error() string {
	return fmt.Sprintf("remove what was made (%s): %v", e.what, pgMessage(e.err))
}

// drop drops database name (ending its sessions) and role name; either
// may be gone already. A database of that name that its role does not
// own is not Liftoff's: it is left alone.
func (p *postgresServer) drop(ctx context.Context, name string) error {
	conn, err := p.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	ident := pgx.Identifier{name}.Sanitize()
	var owner string
	err = conn.QueryRow(ctx, `SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name).Scan(&owner)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("look for database %s: %w", name, pgMessage(err))
	case owner == name:
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("drop database %s: %w", name, pgMessage(err))
		}
	}
	if _, err := conn.Exec(ctx, `DROP ROLE IF EXISTS `+ident); err != nil {
		return fmt.Errorf("drop role %s: %w", name, pgMessage(err))
	}
	return nil
}

// exists reports whether database name is on the server.
func (p *postgresServer) exists(ctx context.Context, name string) (bool, error) {
	conn, err := p.connect(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, pgMessage(err))
	}
	return n == 1, nil
}

// env is the libpq environment that connects pg_dump or pg_restore to
// database name as role name: the password goes there, never in argv.
func (p *postgresServer) env(name, password string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "PGHOST=" + p.host(), "PGPORT=" + p.port(), "PGUSER=" + name,
		"PGPASSWORD=" + password, "PGDATABASE=" + name, "PGCONNECT_TIMEOUT=10"}
	if mode := p.url.Query().Get("sslmode"); mode != "" {
		env = append(env, "PGSSLMODE="+mode)
	}
	return env
}

// dump writes a pg_dump of database name, in the custom format
// (pg_restore reads it), to w.
func (p *postgresServer) dump(ctx context.Context, name, password string, w io.Writer) error {
	path, err := exec.LookPath("pg_dump")
	if err != nil {
		return errors.New("pg_dump is not installed on the Liftoff host (apt-get install postgresql-client)")
	}
	cmd := exec.CommandContext(ctx, path, "--format=custom", "--no-password")
	cmd.Env, cmd.Stdout = p.env(name, password), w
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump of %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// copyInto copies database from (as its role, with fromPassword) into the
// empty database to (as its role): pg_dump piped into pg_restore, the
// objects owned by to's role.
func (p *postgresServer) copyInto(ctx context.Context, from, fromPassword, to, toPassword string) error {
	dumpPath, err := exec.LookPath("pg_dump")
	if err != nil {
		return errors.New("seeding a preview's database needs pg_dump and pg_restore on the Liftoff host (apt-get install postgresql-client)")
	}
	restorePath, err := exec.LookPath("pg_restore")
	if err != nil {
		return errors.New("seeding a preview's database needs pg_dump and pg_restore on the Liftoff host (apt-get install postgresql-client)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dump := exec.CommandContext(ctx, dumpPath, "--format=custom", "--no-password")
	dump.Env = p.env(from, fromPassword)
	restore := exec.CommandContext(ctx, restorePath, "--no-owner", "--no-privileges", "--exit-on-error", "--no-password", "--dbname", to)
	restore.Env = p.env(to, toPassword)
	pipe, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	restore.Stdin = pipe
	var dumpErr, restoreErr bytes.Buffer
	dump.Stderr, restore.Stderr = &dumpErr, &restoreErr
	if err := dump.Start(); err != nil {
		return fmt.Errorf("start pg_dump: %w", err)
	}
	rerr := restore.Run()
	if rerr != nil {
		cancel() // pg_dump may be blocked writing to a pipe nobody reads
	}
	derr := dump.Wait()
	switch {
	case derr != nil && rerr == nil:
		return fmt.Errorf("seed from %s: pg_dump: %w: %s", from, derr, strings.TrimSpace(dumpErr.String()))
	case rerr != nil && dumpErr.Len() > 0:
		return fmt.Errorf("seed from %s: pg_dump: %s", from, strings.TrimSpace(dumpErr.String()))
	case rerr != nil:
		return fmt.Errorf("seed from %s: pg_restore: %w: %s", from, rerr, strings.TrimSpace(restoreErr.String()))
	}
	return nil
}

// quoteLiteral quotes s as an SQL string literal
// (standard_conforming_strings, on since PostgreSQL 9.1).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pgMessage is the server's own words of a statement's failure.
func pgMessage(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("PostgreSQL said: %s (%s)", pe.Message, pe.Code)
	}
	return err
}

// scrubbed is err without the password of u.
func scrubbed(err error, u *url.URL) error {
	if err == nil || u == nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "***"))
	}
	return err
}
