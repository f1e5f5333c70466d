package logstream

import (
	"context"
	"time"

	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
)

// FollowParams select what to follow.
type FollowParams struct {
	DeploymentID        string
	ServiceDeploymentID string // "" for every line
	// Finished reports whether the deployment has ended; following stops
	// once it has and every line is out.
	Finished func(ctx context.Context) (bool, error)
	// Poll is how often the store is read when this replica stored nothing
	// new (lines written by another replica). Default 1s.
	Poll time.Duration
	// AfterID resumes after the line with this id (an event stream's
	// Last-Event-ID).
	AfterID int64
}

// Follow calls emit with every line of a deployment, in order, as they are
// stored, until the deployment has finished and its last lines were emitted,
// or ctx ends.
func (s *Streams) Follow(ctx context.Context, p FollowParams, emit func([]liftoff.LogLine) error) error {
	if p.Poll <= 0 {
		p.Poll = time.Second
	}
	after := p.AfterID
	for {
		// Check before reading, so lines stored before the end are read.
		finished, err := p.Finished(ctx)
		if err != nil {
			return err
		}
		changed := s.wait()
		for {
			lines, err := s.store.ListLogs(ctx, store.ListLogsParams{DeploymentID: p.DeploymentID,
				ServiceDeploymentID: p.ServiceDeploymentID, AfterID: after, Limit: 1000})
			if err != nil {
				return err
			}
			if len(lines) == 0 {
				break
			}
			after = lines[len(lines)-1].ID
			if err := emit(lines); err != nil {
				return err
			}
		}
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(p.Poll):
		}
	}
}

// Await calls cond each time this replica stores output, and at least every
// poll (default 1s, for what other replicas store), until it returns true,
// fails, or ctx ends.
func (s *Streams) Await(ctx context.Context, poll time.Duration, cond func(ctx context.Context) (bool, error)) error {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		changed := s.wait()
		done, err := cond(ctx)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-time.After(poll):
		}
	}
}
