package dashboard

import (
	"net/http"
	"strings"

	"github.com/liftoffhq/liftoff/internal/apikey"
	"github.com/liftoffhq/liftoff/internal/liftoff"
	"github.com/liftoffhq/liftoff/internal/project"
	"github.com/liftoffhq/liftoff/internal/store"
)

// projectsData is the projects page.
type projectsData struct {
	Projects []project.View
	// Limited: a deploy user's page, showing only its environments.
	Limited  bool
	CanAdmin bool
	// Form holds what the create form was sent with, and Errors its
	// refusals, when it is shown again.
	Form   createProjectForm
	Errors formErrors
}

type createProjectForm struct {
	Name, RepoURL, ConfigPath string
}

func (d *Dashboard) projectsPage(w http.ResponseWriter, r *http.Request) error {
	return d.renderProjects(w, r, http.StatusOK, createProjectForm{}, nil)
}

func (d *Dashboard) renderProjects(w http.ResponseWriter, r *http.Request, status int, form createProjectForm, errs formErrors) error {
	v := viewerOf(r)
	data := projectsData{CanAdmin: v.may(apikey.NeedAdmin, 0), Form: form, Errors: errs}
	envs, limited := v.limited()
	if limited {
		data.Limited = true
		views, err := d.environmentsOf(r, envs)
		if err != nil {
			return err
		}
		data.Projects = views
	} else {
		views, err := d.Projects.List(r.Context())
		if err != nil {
			return err
		}
		data.Projects = views
	}
	return d.render(w, r, status, "projects", "Projects", data)
}

// environmentsOf lists, by project, the live environments among ids: what
// a deploy user sees of the projects.
func (d *Dashboard) environmentsOf(r *http.Request, ids []int64) ([]project.View, error) {
	var views []project.View
	byProject := map[string]int{}
	for _, id := range ids {
		ev, err := d.Projects.Environment(r.Context(), id)
		if notFoundAs(err) == errNotFound {
			continue // deleted since the user was made
		}
		if err != nil {
			return nil, err
		}
		env := ev.Environment
		i, ok := byProject[env.ProjectID]
		if !ok {
			p, err := d.Projects.Get(r.Context(), env.ProjectID)
			if err != nil {
				return nil, notFoundAs(err)
			}
			views = append(views, project.View{Project: p.Project})
			i = len(views) - 1
			byProject[env.ProjectID] = i
		}
		views[i].Environments = append(views[i].Environments, env)
	}
	return views, nil
}

// createProject clones the repository and makes the project, then shows
// it; a refusal is shown next to the field it concerns.
func (d *Dashboard) createProject(w http.ResponseWriter, r *http.Request) error {
	form := createProjectForm{Name: strings.TrimSpace(r.PostFormValue("name")), RepoURL: strings.TrimSpace(r.PostFormValue("repoUrl")),
		ConfigPath: strings.TrimSpace(r.PostFormValue("configPath"))}
	liftDeadlines(w) // cloning may take longer than the write timeout
	v, err := d.Projects.Create(r.Context(), project.CreateParams{Name: form.Name, RepoURL: form.RepoURL, ConfigPath: form.ConfigPath})
	if err != nil {
		field, msg, ok := fieldOf(err, map[string][]string{
			"name":       {"name", "slug", "a project", "project"},
			"repoUrl":    {"repoUrl", "could not", "repository", "githubRepository"},
			"configPath": {"configPath"},
		})
		if !ok {
			return err
		}
		return d.renderProjects(w, r, http.StatusBadRequest, form, formErrors{field: msg})
	}
	msg := "Created project " + v.Project.Name + " from " + v.Project.ConfigPath + " at " + shortSHA(v.Project.ConfigCommit) + "."
	if len(v.Warnings) > 0 {
		msg += " Warnings: " + strings.Join(v.Warnings, "; ")
	}
	return d.redirectWith(w, r, "/projects/"+v.Project.ID, msg)
}

// projectData is a project's page.
type projectData struct {
	Project      liftoff.Project
	Environments []liftoff.Environment
	Previews     []liftoff.Environment
	Deployments  []deploymentRow
	CanAdmin     bool
}

func (d *Dashboard) projectPage(w http.ResponseWriter, r *http.Request) error {
	v, err := d.Projects.Get(r.Context(), r.PathValue("projectId"))
	if err != nil {
		return notFoundAs(err)
	}
	data := projectData{Project: v.Project, CanAdmin: viewerOf(r).may(apikey.NeedAdmin, 0)}
	for _, e := range v.Environments {
		if e.IsPreview {
			data.Previews = append(data.Previews, e)
		} else {
			data.Environments = append(data.Environments, e)
		}
	}
	ds, err := d.Deployments.List(r.Context(), store.ListDeploymentsParams{ProjectID: v.Project.ID, Limit: 10})
	if err != nil {
		return err
	}
	data.Deployments = rowsOf(ds)
	return d.render(w, r, http.StatusOK, "project", v.Project.Name, data)
}

// syncProject reads the project's config again from its default branch.
func (d *Dashboard) syncProject(w http.ResponseWriter, r *http.Request) error {
	liftDeadlines(w) // fetching may take longer than the write timeout
	v, err := d.Projects.Sync(r.Context(), r.PathValue("projectId"))
	if err != nil {
		return notFoundAs(err)
	}
	msg := "Synced " + v.Project.Name + ": its config is read from " + shortSHA(v.Project.ConfigCommit) + "."
	if len(v.Warnings) > 0 {
		msg += " Warnings: " + strings.Join(v.Warnings, "; ")
	}
	return d.redirectWith(w, r, "/projects/"+v.Project.ID, msg)
}

// deleteProject deletes a project, once confirmed: its deployments are
// cancelled and its releases stop; its history stays.
func (d *Dashboard) deleteProject(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("projectId")
	v, err := d.Projects.Get(r.Context(), id)
	if err != nil {
		return notFoundAs(err)
	}
	if !confirmed(r) {
		return d.askConfirm(w, r, confirmData{Title: "Delete project " + v.Project.Name + "?",
			Message: "Its environments, deploy hooks and previews go with it: running deployments are cancelled, its services stop and their " +
				"addresses are freed. Its deployment history stays. This cannot be undone.",
			Button: "Delete project", Cancel: "/projects/" + id})
	}
	if _, err := d.Deployments.DeleteProject(r.Context(), id); err != nil {
		return notFoundAs(err)
	}
	return d.redirectWith(w, r, "/projects", "Deleted project "+v.Project.Name+".")
}

// envName names an environment for a heading: "Production (production)".
func envName(e liftoff.Environment) string {
	if e.Name == "" || e.Name == e.GivenID {
		return e.GivenID
	}
	return e.Name + " (" + e.GivenID + ")"
}
