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

func (a *API) createProject(w http.ResponseWriter, r *http.Request) error {
	var body createProjectBody
	if err := decode(r, &body); err != nil {
		return err
	}
	// Cloning the repository may take longer than the write timeout.
	liftDeadlines(w)
	v, err := a.Projects.Create(r.Context(), project.CreateParams{Name: body.Name, Slug: body.Slug, RepoURL: body.RepoURL,
		ConfigPath: body.ConfigPath, GitHubRepository: body.GitHubRepository})
	if err != nil {
		return orNotFound(err, "Project not found")
	}
	writeJSON(w, http.StatusCreated, projectOf(v))
	return nil
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	vs, err := a.Projects.List(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Projects []client.Project `json:"projects"`
	}{Projects: []client.Project{}}
	for _, v := range vs {
		out.Projects = append(out.Projects, projectOf(v))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Projects.Get(r.Context(), r.PathValue("projectId"))
	if err != nil {
		return orNotFound(err, "Project not found")
	}
	writeJSON(w, http.StatusOK, projectOf(v))
	return nil
}

// deleteProject deletes a project: its deployments are cancelled, its
// releases stop and its routes and host names go; its history stays.
func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.Deployments.DeleteProject(r.Context(), r.PathValue("projectId")); err != nil {
		return orNotFound(err, "Project not found")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) syncProject(w http.ResponseWriter, r *http.Request) error {
	// Fetching the repository may take longer than the write timeout.
	liftDeadlines(w)
	v, err := a.Projects.Sync(r.Context(), r.PathValue("projectId"))
	if err != nil {
		return orNotFound(err, "Project not found")
	}
	writeJSON(w, http.StatusOK, projectOf(v))
	return nil
}
