package config

import (
	"slices"
	"testing"
)

func TestCachedDirectories(t *testing.T) {
	t.Parallel()
	f, _, err := newTestParser(t).Parse([]byte(withService(`{"id": "w", "type": "worker", "startCommand": "w", "basePath": "apps",
		"cacheDirectories": ["./node_modules/", "node_modules", ".next/cache", "node_modules/.cache", "../shared"]}`)))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := f.Environments[0].Service("w")
	if want := []string{"node_modules", "node_modules", ".next/cache", "node_modules/.cache", "../shared"}; !slices.Equal(s.CacheDirectories, want) {
		t.Errorf("CacheDirectories = %q, want them clean: %q", s.CacheDirectories, want)
	}
	if got, want := s.CachedDirectories(), []string{"node_modules", ".next/cache", "../shared"}; !slices.Equal(got, want) {
		t.Errorf("CachedDirectories() = %q, want %q", got, want)
	}
	docker := Service{BuildType: BuildDocker, CacheDirectories: []string{"node_modules"}}
	if got := docker.CachedDirectories(); got != nil {
		t.Errorf("a docker build's CachedDirectories() = %q, want none", got)
	}
}
