package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/liftoffhq/liftoff/internal/procgroup"
)

// procRecord is the state file of one running release process group,
// Config.Dir/procs/<pid>.json. It exists from the start of the process to
// the end of its group; one left behind means Liftoff died without
// stopping the group, and Cleanup finishes the job.
type procRecord struct {
	// PID is the leader's pid (the shell's, or bwrap's in a sandbox),
	// which is also its process group's id.
	PID int `json:"pid"`
	// Group is the process group of the release's processes: PID
	// unsandboxed, the sandbox's pid 1 in a sandbox (whose SIGKILL ends the
	// whole sandbox). Zero in files of older versions: PID.
	Group int `json:"group,omitempty"`
	// StartTime is field 22 of /proc/<pid>/stat: with BootID it tells the
	// shell apart from a later process that got the same pid.
	StartTime uint64 `json:"startTime"`
	BootID    string `json:"bootId"`
	// Release is the release id, also in the group's environment as
	// LIFTOFF_RELEASE_ID: it recognises the group once the shell is gone.
	Release  string    `json:"release"`
	Project  string    `json:"project,omitempty"`
	Instance string    `json:"instance"`
	Service  string    `json:"service"`
	Port     int       `json:"port"`
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
}

func (t *Target) procsDir() string { return filepath.Join(t.cfg.Dir, "procs") }

// writeRecord writes rec atomically and returns the file's path.
func (t *Target) writeRecord(rec procRecord) (string, error) {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(t.procsDir(), strconv.Itoa(rec.PID)+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write state file: %w", err)
	}
	return path, nil
}

// Cleanup stops the process groups of releases that a previous Liftoff
// left running (it was killed with -9, or the machine ran out of memory)
// and forgets their state files. Call it at start, before Restore. A group
// is stopped only when it provably is the recorded one: its leader has the
// recorded pid and start time, or, once the leader is gone, a live member
// carries the release's id in its environment. Groups are stopped like a
// release (SIGTERM, SIGKILL after StopGrace; at once when ctx ends).
// Process groups of this Target are left alone.
func (t *Target) Cleanup(ctx context.Context) error {
	dir := t.procsDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("local target cleanup: %w", err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(path)
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		rec, err := readRecord(path)
		if err != nil {
			t.log.Warn("local target cleanup: unreadable state file removed", "path", path, "err", err)
			os.Remove(path)
			continue
		}
		if t.owns(rec.PID) {
			continue
		}
		wg.Go(func() {
			if err := t.killLeftover(ctx, rec); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("local target cleanup: %w", err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func readRecord(path string) (procRecord, error) {
	var rec procRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, err
	}
	if rec.PID <= 1 {
		return rec, fmt.Errorf("invalid pid %d", rec.PID)
	}
	return rec, nil
}

// group is the process group of the release's processes.
func (rec procRecord) group() int {
	if rec.Group > 1 {
		return rec.Group
	}
	return rec.PID
}

// killLeftover stops the group of rec if it is still there and still the
// recorded one.
func (t *Target) killLeftover(ctx context.Context, rec procRecord) error {
	if !t.isLeftover(rec) {
		return nil
	}
	t.log.Warn("local target cleanup: stopping a release left running by a previous Liftoff",
		"pid", rec.PID, "instance", rec.Instance, "service", rec.Service, "release", rec.Release)
	groups := []int{rec.group()}
	if rec.group() != rec.PID {
		// bwrap's own group: SIGTERM would kill bwrap, and with it the
		// sandbox at once, so it only gets SIGKILL.
		groups = append(groups, rec.PID)
	}
	if err := syscall.Kill(-rec.group(), syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("local target cleanup: stop process group %d (%s of %s): %w", rec.group(), rec.Service, rec.Instance, err)
	}
	if awaitEmpty(ctx, groups, t.cfg.StopGrace) {
		return nil
	}
	for _, g := range groups {
		procgroup.Signal(g, syscall.SIGKILL)
	}
	if !awaitEmpty(context.Background(), groups, killWait) {
		return fmt.Errorf("local target cleanup: process group %d (%s of %s) survived SIGKILL", rec.group(), rec.Service, rec.Instance)
	}
	return nil
}

// isLeftover reports whether the group recorded in rec still runs. A pid
// is not reused while its process group has members, so when the leader
// is alive with the recorded start time, or a group holds a process of
// the release, the group is the recorded one.
func (t *Target) isLeftover(rec procRecord) bool {
	if rec.BootID != "" && t.bootID != "" && rec.BootID != t.bootID {
		return false // the machine restarted since: nothing survived
	}
	if st, err := procgroup.ReadStat(rec.PID); err == nil {
		if st.StartTime != rec.StartTime {
			return false // the pid was reused, so the recorded group ended
		}
		if st.Pgrp == rec.PID {
			return true
		}
	}
	for _, g := range []int{rec.group(), rec.PID} {
		for _, pid := range procgroup.Members(g) {
			st, err := procgroup.ReadStat(pid)
			if err == nil && st.StartTime >= rec.StartTime && procgroup.HasEnv(pid, releaseIDVar+"="+rec.Release) {
				return true
			}
		}
	}
	return false
}

// awaitEmpty polls until the process groups have no live member, for at
// most d or until ctx ends, and reports whether they emptied.
func awaitEmpty(ctx context.Context, groups []int, d time.Duration) bool {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	delay := 5 * time.Millisecond
	for {
		empty := true
		for _, g := range groups {
			if len(procgroup.Members(g)) > 0 {
				empty = false
			}
		}
		if empty {
			return true
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-timeout.C:
			t.Stop()
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}
