package main

import (
	"testing"

	"github.com/liftoffhq/liftoff/client"
)

func TestServiceState(t *testing.T) {
	for _, tt := range []struct {
		s    client.Service
		want string
	}{
		{client.Service{}, "-"},
		{client.Service{State: "running"}, "running"},
		{client.Service{State: "running", RestartCount: 1}, "running, 1 restart"},
		{client.Service{State: "crashed", RestartCount: 10}, "crashed, 10 restarts"},
		{client.Service{Previews: []client.ServiceInstanceState{{PRNumber: 3, State: "running"}, {PRNumber: 7, State: "restarting", RestartCount: 2}}},
			"pr-3 running; pr-7 restarting, 2 restarts"},
	} {
		if got := serviceState(tt.s); got != tt.want {
			t.Errorf("serviceState(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
