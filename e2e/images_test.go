package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftoffhq/liftoff/client"
	"github.com/liftoffhq/liftoff/internal/container/containertest"
)

// imageServicesConfig is a project of a scheduler and a static site, both
// built from their Dockerfiles, in production and in a preview
// environment (the container fixture makes a hook for each).
func imageServicesConfig() string {
	services := `[
  {"id": "cron", "name": "Cron", "type": "scheduler", "buildType": "docker", "dockerfilePath": "cron/Dockerfile", "dockerContext": "cron",
   "jobs": {
     "report": {"startCommand": "echo report for $GREETING from $(cat /job.txt) in $(pwd)", "schedule": "manual"},
     "default": {"schedule": "manual"}
   }},
  {"id": "site", "name": "Site", "type": "static", "buildType": "docker", "dockerfilePath": "site/Dockerfile", "dockerContext": "site",
   "outputDirectory": "dist", "singlePageApp": true}
]`
	return `{"envVariables": {"GREETING": "hello"}, "environments": [
  {"id": "production", "name": "Production", "source": {"branch": "main"}, "services": ` + services + `},
  {"id": "preview", "name": "Previews", "source": {"pr": true, "trigger": "push", "filter": {"toBranches": ["main"]}}, "services": ` + services + `}
]}`
}

// TestImageSchedulerAndStaticSite: a scheduler built from a Dockerfile
// runs its jobs in containers of its image (its startCommand, or the
// image's CMD), each run's output in its execution's log; a static site
// built from a Dockerfile answers through the proxy with the directory
// its image holds. Deleting the project then removes its containers and
// its images from podman's storage.
func TestImageSchedulerAndStaticSite(t *testing.T) {
	t.Parallel()
	id := t.Name() + " " + strconv.FormatInt(time.Now().UnixNano(), 36)
	f, cli := newContainerFixture(t, "img-services", map[string]string{
		"liftoff.json": imageServicesConfig(),
		"cron/Dockerfile": "FROM " + containertest.BaseImage + "\nCOPY job.txt /job.txt\nWORKDIR /jobs\n" +
			`CMD ["/bin/sh", "-c", "echo the image CMD says $GREETING"]` + "\n",
		"cron/job.txt":     "the image",
		"cron/test-id.txt": id,
		"site/Dockerfile": "FROM " + containertest.BaseImage + "\nWORKDIR /srv\nCOPY . src/\n" +
			"RUN mkdir -p dist/docs && cp src/index.html dist/ && echo docs page > dist/docs/index.html\n",
		"site/index.html":  "<h1>built in an image</h1>",
		"site/test-id.txt": id,
	})
	ctx := context.Background()
	d := f.deployOK("")
	cron, site := service(t, d, "cron"), service(t, d, "site")
	for _, s := range []client.ServiceDeployment{cron, site} {
		if s.Status != "SUCCESS" {
			t.Fatalf("%s = %s", s.Service.ServiceGivenID, s.Status)
		}
	}

	// The static site, from the image's /srv/dist.
	if status, body := f.get("site", "/"); status != 200 || body != "<h1>built in an image</h1>" {
		t.Errorf("site / answers %d %q", status, body)
	}
	if status, body := f.get("site", "/docs/"); status != 200 || body != "docs page" {
		t.Errorf("site /docs/ answers %d %q", status, body)
	}
	if status, body := f.get("site", "/some/route"); status != 200 || body != "<h1>built in an image</h1>" {
		t.Errorf("site /some/route (a single page app) answers %d %q", status, body)
	}

	// The scheduler's jobs, each in a container of its image.
	run := func(job string) (client.JobExecution, string) {
		t.Helper()
		created, err := f.c.RunJob(ctx, cron.Service.ServiceID, job, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := waitRun(t, func() (client.JobExecution, bool) {
			x, err := f.c.JobExecution(ctx, created.JobExecutionID)
			if err != nil {
				t.Fatal(err)
			}
			return x, isJobFinal(x.Status)
		})
		out, err := f.c.JobExecutionLogs(ctx, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		return x, out
	}
	for job, want := range map[string]string{"report": "report for hello from the image in /jobs", "default": "the image CMD says hello"} {
		x, out := run(job)
		if x.Status != "COMPLETED" || x.ExitCode == nil || *x.ExitCode != 0 {
			t.Errorf("%s: %+v\n%s", job, x, out)
		}
		if !strings.Contains(out, want) || !strings.Contains(out, "in a container of "+imagePrefix(f.project, "production")+"cron:") {
			t.Errorf("%s: the run's log lacks %q:\n%s", job, want, out)
		}
	}
	if cs := projectContainers(t, cli, f.project, ""); len(cs) != 0 {
		t.Errorf("containers run after the jobs ended: %+v", cs)
	}
	if tags := projectImageTags(t, cli, f.project, "production"); len(tags) != 2 {
		t.Fatalf("production's images: %v, want the scheduler's and the site's", tags)
	}

	// Deleting the project removes its images.
	if err := f.c.DeleteProject(ctx, f.project.ProjectID); err != nil {
		t.Fatal(err)
	}
	// At once on this node, but podman may be slow on a busy host; a
	// round that could not finish is tried again 30 s later.
	for deadline := time.Now().Add(3 * time.Minute); len(projectImageTags(t, cli, f.project, "")) > 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the deleted project's images are left after 3 minutes: %v\n%s", projectImageTags(t, cli, f.project, ""),
				strings.Join(f.logs.all(), "\n"))
		}
	}
	if status, _ := f.get("site", "/"); status != 404 {
		t.Errorf("the deleted project's site answers %d", status)
	}
}
