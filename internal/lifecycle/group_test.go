package lifecycle

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

// journal records, in order, what the parts of a group were asked to do.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, s)
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// part is a Service that writes its starts and stops in a journal; a
// part with a failure fails its Start.
func part(j *journal, name string, failure error) *Funcs {
	return &Funcs{
		StartFunc: func(context.Context) error {
			j.add("start " + name)
			return failure
		},
		StopFunc: func(started bool) {
			if started {
				j.add("stop " + name)
			} else {
				j.add("release " + name)
			}
		},
	}
}

// TestGroup: parts start in order and stop in reverse, whatever the calls
// to the group and wherever a part fails.
func TestGroup(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	type call int
	const (
		start call = iota
		stop
	)
	for _, c := range []struct {
		name     string
		failing  string // the part whose Start fails
		calls    []call
		wantErrs []error // of each start, in order
		want     []string
	}{
		{name: "order", calls: []call{start, stop}, wantErrs: []error{nil},
			want: []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}},
		{name: "failure in the middle", failing: "b", calls: []call{start, stop}, wantErrs: []error{boom},
			want: []string{"start a", "start b", "release c", "stop b", "stop a"}},
		{name: "failure of the first", failing: "a", calls: []call{start}, wantErrs: []error{boom},
			want: []string{"start a", "release c", "release b", "stop a"}},
		{name: "stop before start", calls: []call{stop, start}, wantErrs: []error{ErrStopped},
			want: []string{"release c", "release b", "release a"}},
		{name: "stop twice", calls: []call{start, stop, stop}, wantErrs: []error{nil},
			want: []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}},
		{name: "start twice", calls: []call{start, start, stop}, wantErrs: []error{nil, ErrStarted},
			want: []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}},
		{name: "start after stop", calls: []call{start, stop, start}, wantErrs: []error{nil, ErrStopped},
			want: []string{"start a", "start b", "start c", "stop c", "stop b", "stop a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var j journal
			var parts []Service
			for _, name := range []string{"a", "b", "c"} {
				var failure error
				if name == c.failing {
					failure = boom
				}
				parts = append(parts, part(&j, name, failure))
			}
			g := NewGroup(parts...)
			var errs []error
			for _, call := range c.calls {
				switch call {
				case start:
					errs = append(errs, g.Start(t.Context()))
				case stop:
					g.Stop()
				}
			}
			if len(errs) != len(c.wantErrs) {
				t.Fatalf("%d starts, want %d", len(errs), len(c.wantErrs))
			}
			for i, err := range errs {
				if !errors.Is(err, c.wantErrs[i]) || (err == nil) != (c.wantErrs[i] == nil) {
					t.Errorf("start %d: %v, want %v", i+1, err, c.wantErrs[i])
				}
			}
			if got := j.get(); !slices.Equal(got, c.want) {
				t.Errorf("journal:\n got %q\nwant %q", got, c.want)
			}
		})
	}
}

// blocking is a part whose Start signals that it runs, then waits to be
// let go; its Stop records when it ran.
type blocking struct {
	running, release chan struct{}
	j                *journal
}

func (b *blocking) Start(context.Context) error {
	close(b.running)
	<-b.release
	b.j.add("started")
	return nil
}

func (b *blocking) Stop() { b.j.add("stopped") }

// TestGroupStopDuringStart: a Stop that comes while a part is starting
// waits for Start to return, then stops it; it never runs alongside it.
func TestGroupStopDuringStart(t *testing.T) {
	t.Parallel()
	var j journal
	b := &blocking{running: make(chan struct{}), release: make(chan struct{}), j: &j}
	g := NewGroup(b)
	started := make(chan error, 1)
	go func() { started <- g.Start(t.Context()) }()
	<-b.running
	stopped := make(chan struct{})
	go func() { g.Stop(); close(stopped) }()
	close(b.release)
	<-stopped
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if got, want := j.get(), []string{"started", "stopped"}; !slices.Equal(got, want) {
		t.Errorf("journal %q, want %q", got, want)
	}
}
