package api

import (
	"net/http/httptest"
	"testing"
)

// TestFollowLimitsTotal: past the total, every credential is refused, and
// each release gives back exactly one stream, once.
func TestFollowLimitsTotal(t *testing.T) {
	t.Parallel()
	f := newFollowLimits(2, 3)
	as := func(auth string) (func(), string) {
		r := httptest.NewRequest("GET", "/v1/deployments/x/logs?follow=true", nil)
		r.Header.Set("Authorization", auth)
		return f.acquire(r)
	}
	a1, _ := as("Hook a")
	_, _ = as("Hook a")
	if _, refused := as("Hook a"); refused == "" {
		t.Fatal("a third stream of one credential was allowed, past 2")
	}
	if _, refused := as("Bearer b"); refused != "" {
		t.Fatalf("a second credential was refused: %s", refused)
	}
	if _, refused := as("Bearer c"); refused == "" {
		t.Fatal("a fourth stream was allowed, past the total of 3")
	}
	a1()
	a1() // twice: still one stream given back
	if _, refused := as("Bearer c"); refused != "" {
		t.Fatalf("after a release: %s", refused)
	}
	if _, refused := as("Bearer d"); refused == "" {
		t.Fatal("a release given back twice counted twice")
	}
}
