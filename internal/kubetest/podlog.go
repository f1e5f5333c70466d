package kubetest

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// PrintLog makes every pod of the cluster print lines, now: they are what
// the API server's pods/log answers (kwok serves it, from one file for
// all pods), and what a follower gets next. Make the lines tell the test
// apart (its namespace, say): other tests print too.
func (c *Cluster) PrintLog(lines ...string) error {
	var b strings.Builder
	at := time.Now().UTC().Format(time.RFC3339Nano)
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("kubetest: PrintLog takes lines, one at a time: %q", l)
		}
		// CRI's log format: time, stream, F (a full line), the line.
		fmt.Fprintf(&b, "%s stdout F %s\n", at, l)
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	f, err := os.OpenFile(c.podLog, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("kubetest: print pod log lines: %w", err)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return fmt.Errorf("kubetest: print pod log lines: %w", err)
	}
	return f.Close()
}
