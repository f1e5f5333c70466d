package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

const userColumns = `id, email, password_hash, role, environment_ids, created_at`

// joinedUserColumns are userColumns in a query that joins users to another
// table.
const joinedUserColumns = `users.id, users.email, users.password_hash, users.role, users.environment_ids, users.created_at`

func scanUser(r Row) (liftoff.User, error) {
	var u liftoff.User
	var created int64
	var envs string
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Role, &envs, &created); err != nil {
		return u, err
	}
	u.CreatedAt = fromMillis(created)
	if err := decodeEnvironmentIDs(envs, &u.EnvironmentIDs); err != nil {
		return u, fmt.Errorf("user %s: %w", u.ID, err)
	}
	return u, nil
}

// decodeEnvironmentIDs reads a JSON array of environment ids; an empty
// one is nil.
func decodeEnvironmentIDs(s string, ids *[]int64) error {
	if err := json.Unmarshal([]byte(s), ids); err != nil {
		return fmt.Errorf("environment_ids %q: %w", s, err)
	}
	if len(*ids) == 0 {
		*ids = nil
	}
	return nil
}

func (q queries) CreateUser(ctx context.Context, p store.CreateUserParams) (liftoff.User, error) {
	envs := p.EnvironmentIDs
	if envs == nil {
		envs = []int64{}
	}
	b, err := json.Marshal(envs)
	if err != nil {
		return liftoff.User{}, fmt.Errorf("create user: %w", err)
	}
	var u liftoff.User
	err = q.write(ctx, func(c Conn) error {
		var err error
		u, err = scanUser(c.QueryRow(ctx, `INSERT INTO users (id, email, password_hash, role, environment_ids, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+userColumns,
			p.ID, p.Email, p.PasswordHash, p.Role, string(b), millis(p.At)))
		return err
	})
	if err != nil {
		return liftoff.User{}, fmt.Errorf("create user %s: %w", p.Email, err)
	}
	return u, nil
}

func (q queries) GetUser(ctx context.Context, p store.GetUserParams) (liftoff.User, error) {
	u, err := scanUser(q.read.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, p.ID))
	if err != nil {
		return liftoff.User{}, fmt.Errorf("get user %s: %w", p.ID, err)
	}
	return u, nil
}

func (q queries) GetUserByEmail(ctx context.Context, p store.GetUserByEmailParams) (liftoff.User, error) {
	u, err := scanUser(q.read.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, p.Email))
	if err != nil {
		return liftoff.User{}, fmt.Errorf("get user by email: %w", err)
	}
	return u, nil
}

func (q queries) ListUsers(ctx context.Context) ([]liftoff.User, error) {
	users, err := collectQuery(ctx, q.read, scanUser, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

func (q queries) SetUserPassword(ctx context.Context, p store.SetUserPasswordParams) error {
	err := q.write(ctx, func(c Conn) error {
		n, err := c.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, p.ID, p.PasswordHash)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		if err != nil {
			return err
		}
		// A new password signs out every browser that knew the old one.
		_, err = c.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, p.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("set the password of user %s: %w", p.ID, err)
	}
	return nil
}

// lockAdmins is the head of a statement that must leave an admin: the
// users with the admin role, which PostgreSQL locks in the order of their
// ids, so that two such statements run one after the other (under READ
// COMMITTED each would otherwise count the other's admin, and both go
// through) and never deadlock. SQLite has a single writer and needs no
// lock.
func (q queries) lockAdmins() string {
	lock := ""
	if q.dialect == "postgres" {
		lock = " FOR UPDATE"
	}
	return `WITH admins AS (SELECT id FROM users WHERE role = 'admin' ORDER BY id` + lock + `) `
}

// leavesAnAdmin is the condition of a change to user $1 that must leave
// an admin: the user is not one, or another is.
const leavesAnAdmin = `(role <> 'admin' OR EXISTS (SELECT 1 FROM admins WHERE admins.id <> $1))`

// refused tells why a guarded change of user id changed no row: there is
// no such user, or it would have left no admin.
func refused(ctx context.Context, c Conn, id string) error {
	var one int
	if err := c.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, id).Scan(&one); err != nil {
		return err
	}
	return store.ErrLastAdmin
}

func (q queries) SetUserRole(ctx context.Context, p store.SetUserRoleParams) (liftoff.User, error) {
	envs := p.EnvironmentIDs
	if envs == nil {
		envs = []int64{}
	}
	b, err := json.Marshal(envs)
	if err != nil {
		return liftoff.User{}, fmt.Errorf("set the role of user %s: %w", p.ID, err)
	}
	var u liftoff.User
	err = q.write(ctx, func(c Conn) error {
		var err error
		if !p.KeepAnAdmin || p.Role == "admin" {
			u, err = scanUser(c.QueryRow(ctx, `UPDATE users SET role = $2, environment_ids = $3 WHERE id = $1 RETURNING `+userColumns,
				p.ID, p.Role, string(b)))
			return err
		}
		u, err = scanUser(c.QueryRow(ctx, q.lockAdmins()+`UPDATE users SET role = $2, environment_ids = $3
			WHERE id = $1 AND `+leavesAnAdmin+` RETURNING `+userColumns, p.ID, p.Role, string(b)))
		if errors.Is(err, store.ErrNotFound) {
			return refused(ctx, c, p.ID)
		}
		return err
	})
	if err != nil {
		return liftoff.User{}, fmt.Errorf("set the role of user %s: %w", p.ID, err)
	}
	return u, nil
}

// DeleteUser deletes the user; its sessions go with it (ON DELETE CASCADE).
func (q queries) DeleteUser(ctx context.Context, p store.DeleteUserParams) error {
	err := q.write(ctx, func(c Conn) error {
		if !p.KeepAnAdmin {
			n, err := c.Exec(ctx, `DELETE FROM users WHERE id = $1`, p.ID)
			if err == nil && n == 0 {
				err = store.ErrNotFound
			}
			return err
		}
		n, err := c.Exec(ctx, q.lockAdmins()+`DELETE FROM users WHERE id = $1 AND `+leavesAnAdmin, p.ID)
		if err == nil && n == 0 {
			err = refused(ctx, c, p.ID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", p.ID, err)
	}
	return nil
}

func (q queries) CreateSession(ctx context.Context, p store.CreateSessionParams) error {
	if _, err := q.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)`,
		p.Hash, p.UserID, millis(p.At), millis(p.ExpiresAt)); err != nil {
		return fmt.Errorf("create a session of user %s: %w", p.UserID, err)
	}
	return nil
}

// GetSession reads the session and its user in one query: every page a
// signed-in browser opens makes it.
func (q queries) GetSession(ctx context.Context, p store.GetSessionParams) (liftoff.Session, error) {
	var s liftoff.Session
	var created, seen, expires, userCreated int64
	var envs string
	err := q.read.QueryRow(ctx, `SELECT sessions.token_hash, sessions.created_at, sessions.last_seen_at, sessions.expires_at, `+joinedUserColumns+`
		FROM sessions JOIN users ON users.id = sessions.user_id
		WHERE sessions.token_hash = $1 AND sessions.expires_at > $2`, p.Hash, millis(p.At)).
		Scan(&s.Hash, &created, &seen, &expires,
			&s.User.ID, &s.User.Email, &s.User.PasswordHash, &s.User.Role, &envs, &userCreated)
	if err != nil {
		return liftoff.Session{}, fmt.Errorf("get session: %w", err)
	}
	if err := decodeEnvironmentIDs(envs, &s.User.EnvironmentIDs); err != nil {
		return liftoff.Session{}, fmt.Errorf("user %s: %w", s.User.ID, err)
	}
	s.UserID = s.User.ID
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromMillis(created), fromMillis(seen), fromMillis(expires)
	s.User.CreatedAt = fromMillis(userCreated)
	return s, nil
}

func (q queries) TouchSession(ctx context.Context, p store.TouchSessionParams) error {
	n, err := q.exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1 AND expires_at > $2`,
		p.Hash, millis(p.At), millis(p.ExpiresAt))
	if err == nil && n == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

func (q queries) DeleteSession(ctx context.Context, p store.DeleteSessionParams) error {
	if _, err := q.exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, p.Hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (q queries) DeleteExpiredSessions(ctx context.Context, p store.DeleteExpiredSessionsParams) (int64, error) {
	n, err := q.exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, millis(p.Before))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
