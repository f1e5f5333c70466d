package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/fail"
)

// listResources serves List Resources: the databases and Redis users
// Liftoff made for an environment's services, of every instance. Never a
// password: the services read them through fromService.
func (a *API) listResources(w http.ResponseWriter, r *http.Request) error {
	id, err := a.liveEnvironment(r)
	if err != nil {
		return err
	}
	out := client.ResourceList{Resources: []client.Resource{}}
	if a.Resources != nil {
		list, err := a.Resources.List(r.Context(), id)
		if err != nil {
			return err
		}
		for _, m := range list {
			out.Resources = append(out.Resources, resourceOf(m.EnvironmentID, m.PRNumber, m.ServiceID, m.Kind, m.Name, string(m.State), m.CreatedAt))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteResource serves Delete Resource: the database (and its role) or
// Redis user (and its keys) of a service of the environment, or of one
// preview's (?prNumber=), is dropped with its data. The next deployment
// makes it anew, empty.
func (a *API) deleteResource(w http.ResponseWriter, r *http.Request) error {
	id, err := a.liveEnvironment(r)
	if err != nil {
		return err
	}
	pr, err := prNumberParam(r)
	if err != nil {
		return err
	}
	if a.Resources == nil {
		return fail.New(fail.NotFound, "No managed resource: this Liftoff manages no database server")
	}
	m, err := a.Resources.Delete(r.Context(), id, pr, r.PathValue("serviceId"))
	if err != nil {
		return orNotFound(err, "No managed resource for service "+quoteShort(r.PathValue("serviceId"))+" of that environment instance")
	}
	writeJSON(w, http.StatusOK, resourceOf(m.EnvironmentID, m.PRNumber, m.ServiceID, m.Kind, m.Name, "deleted", m.CreatedAt))
	return nil
}

// dumpResource serves Dump Resource: a pg_dump, in the custom format that
// pg_restore reads, of the database of a service of the environment (or
// of one preview's, ?prNumber=), streamed as it is made.
func (a *API) dumpResource(w http.ResponseWriter, r *http.Request) error {
	id, err := a.liveEnvironment(r)
	if err != nil {
		return err
	}
	pr, err := prNumberParam(r)
	if err != nil {
		return err
	}
	if a.Resources == nil {
		return fail.New(fail.NotFound, "No managed resource: this Liftoff manages no database server")
	}
	service := r.PathValue("serviceId")
	if _, err := a.Resources.Get(r.Context(), id, pr, service); err != nil {
		return orNotFound(err, "No managed resource for service "+quoteShort(service)+" of that environment instance")
	}
	liftDeadlines(w)
	out := &startOnWrite{w: w}
	err = a.Resources.Dump(r.Context(), id, pr, service, out)
	switch {
	case err == nil && !out.started:
		out.start() // an empty dump: pg_dump wrote nothing
	case err != nil && !out.started:
		return err
	case err != nil:
		// The answer has begun: ending it short is how the client
		// learns that the dump is not whole.
		a.Log.Warn("dump of a managed database", "environment_id", id, "pr", pr, "service", service, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// startOnWrite writes the headers of a dump with its first bytes, so that
// a pg_dump that fails at once is answered as an error.
type startOnWrite struct {
	w       http.ResponseWriter
	started bool
}

func (s *startOnWrite) start() {
	s.started = true
	s.w.Header().Set("Content-Type", "application/octet-stream")
	s.w.Header().Set("Cache-Control", "no-store")
	s.w.WriteHeader(http.StatusOK)
}

func (s *startOnWrite) Write(p []byte) (int, error) {
	if !s.started {
		s.start()
	}
	return s.w.Write(p)
}

// liveEnvironment is the environment of the path, which must exist.
func (a *API) liveEnvironment(r *http.Request) (int64, error) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		return 0, err
	}
	if _, err := a.Projects.Environment(r.Context(), id); err != nil {
		return 0, orNotFound(err, "Environment not found")
	}
	return id, nil
}
