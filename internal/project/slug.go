package project

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// maxSlug bounds a derived slug, leaving room in a host name for the
// service and environment ids (a DNS label may be 63 characters).
const maxSlug = 40

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// SlugOf derives a project's slug from its name: lowercase letters and
// digits, other runs of characters as one "-", at most 40 characters;
// "project" when nothing is left.
func SlugOf(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
		if b.Len() >= maxSlug {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > maxSlug {
		s = strings.TrimRight(s[:maxSlug], "-")
	}
	if s == "" {
		return "project"
	}
	return s
}

// checkSlug validates a slug the caller chose.
func checkSlug(s string) error {
	if !slugPattern.MatchString(s) {
		return invalid("slug %q must be 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit: it becomes part of host names (<service>.<environment>.<slug>.localhost)", s)
	}
	return nil
}

// slugTaken is the refusal of a slug another project has; its message
// names both projects.
func slugTaken(slug, name string, other liftoff.Project) error {
	return fail.Conflictf("project %q would serve at <service>.<environment>.%s.localhost, which project %q (%s) already uses; choose another name, or give this project a slug",
		name, slug, other.Name, other.ID)
}

// ensureSlugFree refuses a slug a live project has.
func (s *Service) ensureSlugFree(ctx context.Context, slug, name string) error {
	other, err := s.store.GetProjectBySlug(ctx, store.GetProjectBySlugParams{Slug: slug})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	return slugTaken(slug, name, other)
}

// EnsureSlugs gives every project created before slugs existed its slug,
// oldest first, derived from its name; a slug taken already gets a
// number ("shop-2"). Run it at start, before deployments run.
func (s *Service) EnsureSlugs(ctx context.Context) error {
	ps, err := s.store.ListProjects(ctx)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Slug != "" {
			continue
		}
		base := SlugOf(p.Name)
		for n := 1; ; n++ {
			slug := base
			if n > 1 {
				slug = base + "-" + strconv.Itoa(n)
			}
			err := s.store.SetProjectSlug(ctx, store.SetProjectSlugParams{ID: p.ID, Slug: slug})
			if err == nil {
				s.log.Info("project slug set", "project_id", p.ID, "slug", slug)
				break
			}
			if !errors.Is(err, store.ErrConflict) || n >= 1000 {
				return fmt.Errorf("give project %s a slug: %w", p.ID, err)
			}
		}
	}
	return nil
}
