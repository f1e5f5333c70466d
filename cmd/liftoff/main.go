// Command liftoff runs the Liftoff server and talks to it.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/liftoffhq/liftoff/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", message(err))
		os.Exit(1)
	}
}

// message is what the CLI says of an error.
func message(err error) string {
	var ae *client.Error
	var ue *client.UnreachableError
	switch {
	case errors.As(err, &ae):
		return ae.Msg
	case errors.As(err, &ue):
		return fmt.Sprintf(`cannot reach Liftoff at %s: is "liftoff serve" running? (set --server or LIFTOFF_SERVER)`, ue.BaseURL)
	}
	return err.Error()
}

// exitError ends the program with a code and no message of its own.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
