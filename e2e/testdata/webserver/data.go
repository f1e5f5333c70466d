package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// dataHandlers serve /data/put?value=V, which stores V in the PostgreSQL
// database of $DATABASE_URL (table notes) and under the key
// $LIFTOFF_REDIS_PREFIX + "note" of the Redis of $REDIS_URL, and
// /data/get, which answers "pg=<the last value stored> redis=<the key's>".
func dataHandlers(mux *http.ServeMux) {
	mux.HandleFunc("/data/put", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		v := r.URL.Query().Get("value")
		err := withDB(ctx, func(c *pgx.Conn) error {
			if _, err := c.Exec(ctx, `CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, value text)`); err != nil {
				return err
			}
			_, err := c.Exec(ctx, `INSERT INTO notes (value) VALUES ($1)`, v)
			return err
		})
		if err == nil {
			err = withRedis(func(c *redis.Client) error { return c.Set(ctx, os.Getenv("LIFTOFF_REDIS_PREFIX")+"note", v, 0).Err() })
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("stored"))
	})
	mux.HandleFunc("/data/get", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
		defer cancel()
		var pg, rd string
		err := withDB(ctx, func(c *pgx.Conn) error {
			err := c.QueryRow(ctx, `SELECT value FROM notes ORDER BY id DESC LIMIT 1`).Scan(&pg)
			if err != nil && (errors.Is(err, pgx.ErrNoRows) || isUndefinedTable(err)) {
				return nil // nothing stored yet
			}
			return err
		})
		if err == nil {
			err = withRedis(func(c *redis.Client) error {
				v, err := c.Get(ctx, os.Getenv("LIFTOFF_REDIS_PREFIX")+"note").Result()
				if errors.Is(err, redis.Nil) {
					return nil
				}
				rd = v
				return err
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("pg=" + pg + " redis=" + rd))
	})
}

func withDB(ctx context.Context, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		return err
	}
	defer func() { _ = c.Close(context.Background()) }()
	return fn(c)
}

func withRedis(fn func(*redis.Client) error) error {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		return err
	}
	opts.DisableIdentity = true
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	return fn(c)
}

func isUndefinedTable(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && e.SQLState() == "42P01"
}
