package deployment

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lucsky/cuid"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/store"
	"github.com/liftoffhq/liftoff/internal/store/storetest"
)

// stepOutput is an Output that runs between two calls of cond what the
// test says happened meanwhile, so a follower sees a deployment end
// without waiting on a clock.
type stepOutput struct{ between []func() }

func (o *stepOutput) Await(ctx context.Context, _ time.Duration, cond func(ctx context.Context) (bool, error)) error {
	for {
		done, err := cond(ctx)
		if err != nil || done {
			return err
		}
		if len(o.between) == 0 {
			return errors.New("cond never became true")
		}
		o.between[0]()
		o.between = o.between[1:]
	}
}

// TestLogs: a reader gets the lines it selected, each named by who wrote
// it; a follower reads until the deployment ended and every line stored
// before the end is out.
func TestLogs(t *testing.T) {
	t.Parallel()
	for _, dialect := range storetest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, dialect)
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			p, envs := seed(t, st, now, store.EnvironmentSpec{GivenID: "production", Name: "Production",
				Services: []store.ServiceSpec{{GivenID: "web", Name: "Web", Type: "web"}, {GivenID: "worker", Name: "Worker", Type: "worker"}}})
			env := envs[0]
			services, err := st.ListServices(ctx, store.ListServicesParams{EnvironmentID: env.ID})
			if err != nil {
				t.Fatal(err)
			}
			serviceID := func(given string) string {
				i := slices.IndexFunc(services, func(s liftoff.Service) bool { return s.GivenID == given })
				if i < 0 {
					t.Fatalf("no service %s", given)
				}
				return services[i].ID
			}
			insert := func(status liftoff.Status, services ...string) liftoff.Deployment {
				t.Helper()
				d := liftoff.Deployment{ID: cuid.New(), ProjectID: p.ID, EnvironmentID: env.ID, RepoURL: p.RepoURL,
					RequestedCommit: "0123456789abcdef0123456789abcdef01234567", TriggerType: liftoff.TriggerDeployHook, Status: status,
					CreatedAt: now}
				if err := st.InsertDeployment(ctx, d); err != nil {
					t.Fatal(err)
				}
				for i, given := range services {
					sd := liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: serviceID(given), ServiceGivenID: given,
						ServiceName: given, ServiceType: "web", Status: liftoff.StatusPending, EnvironmentID: env.ID, Position: i, CreatedAt: now}
					if err := st.InsertServiceDeployment(ctx, sd); err != nil {
						t.Fatal(err)
					}
				}
				d, err := st.GetDeployment(ctx, store.GetDeploymentParams{ID: d.ID})
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			sdOf := func(d liftoff.Deployment, given string) string {
				for _, sd := range d.Services {
					if sd.ServiceGivenID == given {
						return sd.ID
					}
				}
				return ""
			}
			appendLines := func(d liftoff.Deployment, lines ...[2]string) {
				t.Helper()
				var ll []liftoff.LogLine
				for _, l := range lines {
					ll = append(ll, liftoff.LogLine{DeploymentID: d.ID, ServiceDeploymentID: sdOf(d, l[0]), At: now, Text: l[1]})
				}
				if err := st.AppendLogs(ctx, ll); err != nil {
					t.Fatal(err)
				}
			}

			ended := insert(liftoff.StatusSuccess, "web", "worker")
			appendLines(ended, [2]string{"", "cloning"}, [2]string{"web", "npm ci"}, [2]string{"worker", "go build"}, [2]string{"", "released"})
			pending := insert(liftoff.StatusPending)
			s := &Service{Store: st, NewID: cuid.New, Now: time.Now, Runner: NoRunner{}}

			read := func(t *testing.T, d liftoff.Deployment, p LogsParams) ([]string, *Logs, error) {
				t.Helper()
				l, err := s.OpenLogs(ctx, d, p)
				if err != nil {
					return nil, nil, err
				}
				var got []string
				err = l.Read(ctx, func(lines []LogLine) error {
					for _, line := range lines {
						got = append(got, line.Label+": "+line.Text)
					}
					return nil
				})
				return got, l, err
			}
			for _, tc := range []struct {
				name     string
				d        liftoff.Deployment
				p        LogsParams
				want     []string
				notFound string
			}{
				{name: "every line", d: ended, want: []string{"deploy: cloning", "web: npm ci", "worker: go build", "deploy: released"}},
				{name: "the engine's lines", d: ended, p: LogsParams{Service: EngineLines}, want: []string{"deploy: cloning", "deploy: released"}},
				{name: "one service's lines", d: ended, p: LogsParams{Service: "worker"}, want: []string{"worker: go build"}},
				{name: "a service it does not have", d: ended, p: LogsParams{Service: "api"},
					notFound: "Deployment " + ended.ID + ` has no service "api"`},
				{name: "a service of a deployment yet to plan", d: pending, p: LogsParams{Service: "web"},
					notFound: "Deployment " + pending.ID + ` has no service "web" yet: it is PENDING and decides its services when it starts; follow its logs (follow=true) to wait for them`},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, _, err := read(t, tc.d, tc.p)
					if tc.notFound != "" {
						var fe *fail.Error
						if !errors.As(err, &fe) || fe.Kind != fail.NotFound || fe.Message != tc.notFound {
							t.Fatalf("err = %v, want NotFound %q", err, tc.notFound)
						}
						return
					}
					if err != nil || !slices.Equal(got, tc.want) {
						t.Errorf("read %q (%v), want %q", got, err, tc.want)
					}
				})
			}

			t.Run("resume after a line", func(t *testing.T) {
				all, err := st.ListLogs(ctx, store.ListLogsParams{DeploymentID: ended.ID, Limit: 10})
				if err != nil || len(all) != 4 {
					t.Fatalf("ListLogs = %d lines, %v", len(all), err)
				}
				got, _, err := read(t, ended, LogsParams{AfterID: all[1].ID})
				if want := []string{"worker: go build", "deploy: released"}; err != nil || !slices.Equal(got, want) {
					t.Errorf("read %q (%v), want %q", got, err, want)
				}
			})

			t.Run("follow until the end", func(t *testing.T) {
				d := pending
				appendLines(d, [2]string{"", "queued"})
				claimed, err := st.ClaimDeployment(ctx, store.ClaimParams{Owner: "node-a", At: now, LeaseUntil: now.Add(time.Hour)})
				if err != nil || claimed.ID != d.ID {
					t.Fatalf("ClaimDeployment = %s, %v; want %s", claimed.ID, err, d.ID)
				}
				// A service the follower has not seen yet, then the end
				// with a last line stored just before it.
				var sd liftoff.ServiceDeployment
				s.Output = &stepOutput{between: []func(){
					func() {
						sd = liftoff.ServiceDeployment{ID: cuid.New(), DeploymentID: d.ID, ServiceID: serviceID("web"), ServiceGivenID: "web",
							ServiceName: "Web", ServiceType: "web", Status: liftoff.StatusBuilding, EnvironmentID: env.ID, CreatedAt: now}
						if err := st.InsertServiceDeployment(ctx, sd); err != nil {
							t.Error(err)
						}
						if err := st.AppendLogs(ctx, []liftoff.LogLine{{DeploymentID: d.ID, ServiceDeploymentID: sd.ID, At: now, Text: "npm ci"}}); err != nil {
							t.Error(err)
						}
					},
					func() {
						if err := st.AppendLogs(ctx, []liftoff.LogLine{{DeploymentID: d.ID, At: now, Text: "done"}}); err != nil {
							t.Error(err)
						}
						if ok, err := st.FinishDeployment(ctx, store.FinishDeploymentParams{ID: d.ID, Status: liftoff.StatusSuccess, At: now}); err != nil || !ok {
							t.Errorf("FinishDeployment = %v, %v", ok, err)
						}
					},
				}}
				defer func() { s.Output = nil }()
				got, l, err := read(t, d, LogsParams{Follow: true})
				if want := []string{"deploy: queued", "web: npm ci", "deploy: done"}; err != nil || !slices.Equal(got, want) {
					t.Errorf("followed %q (%v), want %q", got, err, want)
				}
				if l != nil && l.Deployment().Status != liftoff.StatusSuccess {
					t.Errorf("the follower saw the deployment end %s, want SUCCESS", l.Deployment().Status)
				}
			})
		})
	}
}
