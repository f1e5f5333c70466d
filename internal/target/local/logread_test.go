package local

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"
)

func TestReadLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	if err := h.tg.ReadLog(context.Background(), production, "api", ReadLogParams{}, nil); err != ErrNoLog {
		t.Fatalf("ReadLog of a service without a log = %v, want ErrNoLog", err)
	}
	path := h.tg.LogPath(production, "api")
	if err := os.MkdirAll(h.dir+"/logs/p1", 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		t.Helper()
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
	}
	write(path+".1", "old line without a time\n2026-01-01T10:00:00.000Z rotated\n")
	write(path, "2026-01-01T10:05:00.000Z current\n2026-01-01T10:06:00.000Z unfinished")

	read := func(p ReadLogParams) []string {
		var got []string
		err := h.tg.ReadLog(context.Background(), production, "api", p, func(lines []LogLine) error {
			for _, l := range lines {
				got = append(got, l.Time.Format("15:04")+" "+l.Text)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := read(ReadLogParams{}), []string{"00:00 old line without a time", "10:00 rotated", "10:05 current", "10:06 unfinished"}; !slices.Equal(got, want) {
		t.Errorf("every line = %q, want %q", got, want)
	}
	since := time.Date(2026, 1, 1, 10, 5, 0, 0, time.UTC)
	if got, want := read(ReadLogParams{Since: since}), []string{"10:05 current", "10:06 unfinished"}; !slices.Equal(got, want) {
		t.Errorf("since 10:05 = %q, want %q", got, want)
	}

	// Following: the unfinished line comes once it ends, then a line of
	// the file that replaced it in a rotation.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- h.tg.ReadLog(ctx, production, "api", ReadLogParams{Since: since, Follow: true}, func(ls []LogLine) error {
			for _, l := range ls {
				lines <- l.Text
			}
			return nil
		})
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("followed %q, want %q", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no line %q", want)
		}
	}
	expect("current")
	write(path, " and finished\n")
	expect("unfinished and finished")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(path, "2026-01-01T10:07:00.000Z after the rotation\n")
	expect("after the rotation")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("follow ended with %v", err)
	}
}
