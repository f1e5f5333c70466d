package logstream

import (
	"context"
	"time"
)

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
