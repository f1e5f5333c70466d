package protect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// BenchmarkGate measures what the gate adds to a proxied request: on a
// public host (a route and a cached setting), and on a protected one with
// a share link's cookie (the cookie opened too). The service behind it
// writes a few bytes.
func BenchmarkGate(b *testing.B) {
	f := newFixture(b, "sqlite")
	link, err := f.svc.Share(context.Background(), f.pv.ID, ShareRequest{PRNumber: 12, ExpiresIn: time.Hour, Host: host12})
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(link.URL)
	cookie := &http.Cookie{Name: accessCookie, Value: u.Query().Get(ShareParam)}
	for _, c := range []struct {
		name, host string
		cookies    []*http.Cookie
	}{
		{"public", hostProd, nil},
		{"protected with a cookie", host12, []*http.Cookie{cookie, {Name: "theirs", Value: "1"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Host = c.host
			for _, ck := range c.cookies {
				r.AddCookie(ck)
			}
			for b.Loop() {
				w := httptest.NewRecorder()
				f.gate.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s answered %d", c.host, w.Code)
				}
			}
		})
	}
}
