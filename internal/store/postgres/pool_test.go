package postgres

import (
	"testing"
	"time"
)

// TestPoolConfig: without pool_max_conns the pool holds DefaultMaxConns
// connections; the URL's own setting wins; the connect timeout defaults
// to the store's.
func TestPoolConfig(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url  string
		want int32
	}{
		{"postgres://u@db:5432/liftoff", DefaultMaxConns},
		{"postgres://u@db:5432/liftoff?pool_max_conns=3", 3},
		{"host=db user=u dbname=liftoff pool_max_conns=40", 40},
		{"postgres://u:pool_max_conns@db:5432/liftoff", DefaultMaxConns}, // a password is no setting
	} {
		cfg, err := poolConfig(tt.url, 5*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		if cfg.MaxConns != tt.want || cfg.ConnConfig.ConnectTimeout != 5*time.Second {
			t.Errorf("%s: %d connections, connect timeout %s; want %d and 5s", tt.url, cfg.MaxConns, cfg.ConnConfig.ConnectTimeout, tt.want)
		}
	}
}
