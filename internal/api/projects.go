package api

import (
	"net/http"

	"github.com/liftoffhq/liftoff/client"

	"github.com/liftoffhq/liftoff/internal/project"
)

type createProjectBody struct {
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	RepoURL          string `json:"repoUrl"`
	ConfigPath       string `json:"configPath"`
	GitHubRepository string `json:"githubRepository"`
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) {
	var body createProjectBody
	if err := decode(r, &body); err != nil {
		a.fail(w, r, err, "")
		return
	}
	// Cloning the repository may take longer than the write timeout.
	liftDeadlines(w)
	v, err := a.Projects.Create(r.Context(), project.CreateParams{Name: body.Name, Slug: body.Slug, RepoURL: body.RepoURL,
		ConfigPath: body.ConfigPath, GitHubRepository: body.GitHubRepository})
	if err != nil {
		a.fail(w, r, err, "Project not found")
		return
	}
	writeJSON(w, http.StatusCreated, projectOf(v))
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	vs, err := a.Projects.List(r.Context())
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	out := struct {
		Projects []client.Project `json:"projects"`
	}{Projects: []client.Project{}}
	for _, v := range vs {
		out.Projects = append(out.Projects, projectOf(v))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) {
	v, err := a.Projects.Get(r.Context(), r.PathValue("projectId"))
	if err != nil {
		a.fail(w, r, err, "Project not found")
		return
	}
	writeJSON(w, http.StatusOK, projectOf(v))
}

// deleteProject deletes a project: its deployments are cancelled, its
// releases stop and its routes and host names go; its history stays.
func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	if _, err := a.Deployments.DeleteProject(r.Context(), r.PathValue("projectId")); err != nil {
		a.fail(w, r, err, "Project not found")
		return
	}
	// Its environments and hooks are gone: hook calls must not reuse them.
	a.Hooks.Forget(0)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) syncProject(w http.ResponseWriter, r *http.Request) {
	// Fetching the repository may take longer than the write timeout.
	liftDeadlines(w)
	v, err := a.Projects.Sync(r.Context(), r.PathValue("projectId"))
	if err != nil {
		a.fail(w, r, err, "Project not found")
		return
	}
	// Environments and services may have changed or left.
	a.Hooks.Forget(0)
	writeJSON(w, http.StatusOK, projectOf(v))
}

func (a *API) getEnvironment(w http.ResponseWriter, r *http.Request) {
	id, err := pathInt64(r, "environmentId")
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	v, err := a.Projects.Environment(r.Context(), id)
	if err != nil {
		a.fail(w, r, err, "Environment not found")
		return
	}
	writeJSON(w, http.StatusOK, environmentOf(v))
}
