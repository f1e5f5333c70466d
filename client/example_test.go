package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/client"
)

// Calling a deploy hook starts a deployment of its environment, as a CI
// job's curl would; the answer names the deployment. The hook's secret
// may then read that deployment.
func ExampleCallHook() {
	ctx := context.Background()
	id, err := client.CallHook(ctx, nil, stagingHookURL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started:", id != "")

	c := client.New(liftoffURL, "").WithHookSecret(stagingHookSecret)
	d, err := c.Deployment(ctx, id)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("environment:", d.EnvironmentGivenID)
	// Output:
	// started: true
	// environment: staging
}

// Polling Get Deployment until the deployment ends: a final status is
// one of SUCCESS, NO_CHANGE, BUILD_ERROR, DEPLOY_ERROR, ERROR and
// CANCELLED. The context bounds the whole wait.
func ExampleClient_Deployment() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// force=true builds every service, changed or not.
	id, err := client.CallHook(ctx, nil, hookURL+"?force=true")
	if err != nil {
		log.Fatal(err)
	}

	c := client.New(liftoffURL, apiKey)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		d, err := c.Deployment(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		switch d.Status {
		case "SUCCESS", "NO_CHANGE", "BUILD_ERROR", "DEPLOY_ERROR", "ERROR", "CANCELLED":
			fmt.Println(d.Status)
			for _, s := range d.ServiceDeployments {
				fmt.Println(s.Service.ServiceGivenID, s.Status)
			}
			return
		}
		select {
		case <-ctx.Done():
			log.Fatalf("deployment %s still %s: %v", id, d.Status, ctx.Err())
		case <-tick.C:
		}
	}
	// Output:
	// SUCCESS
	// site SUCCESS
}

// Following a deployment's logs: each line as it is written, of one
// service here ("" for all, and Liftoff's own [deploy] lines), then the
// deployment's final status.
func ExampleClient_FollowLogs() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id, err := client.CallHook(ctx, nil, hookURL+"?force=true")
	if err != nil {
		log.Fatal(err)
	}

	c := client.New(liftoffURL, apiKey)
	status, err := c.FollowLogs(ctx, id, "site", func(line string) {
		// The checkout line names the commit, and the build cache's lines
		// its size and age, different on each run of this example: they
		// are left out of its output.
		if !strings.Contains(line, "Checking out") && !strings.Contains(line, "Build cache") {
			fmt.Println(line)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ended:", status)
	// Output:
	// [site] ==> buildCommand: mkdir -p public && cp index.html public/
	// [site] ==> Releasing site
	// [site] ==> SUCCESS
	// ended: SUCCESS
}

// Starting a deployment with an API key, as the hook would: force builds
// every service; a commit or a branch ("" for neither) picks what to
// deploy. A new deployment is "queued"; one that finds a PENDING
// deployment of the same thing "joined" it.
func ExampleClient_StartDeployment() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := client.New(liftoffURL, apiKey)
	d, err := c.StartDeployment(ctx, environmentID, true, "", "main")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Outcome, d.Trigger.Type)

	status, err := c.FollowLogs(ctx, d.DeploymentID, "", func(string) {})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status)
	// Output:
	// queued api
	// SUCCESS
}

// Creating a deploy hook: its URL holds its secret, and this answer is
// the only time either is shown. An API error is a *client.Error.
func ExampleClient_CreateHook() {
	ctx := context.Background()
	c := client.New(liftoffURL, apiKey)
	h, err := c.CreateHook(ctx, environmentID, "Release pipeline")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.Name)
	fmt.Println(strings.HasPrefix(h.URL, liftoffURL+"/api/deploy-hook/"))

	_, err = c.CreateHook(ctx, 999999, "Nowhere")
	var ae *client.Error
	if errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Code)
	}
	// Output:
	// Release pipeline
	// true
	// 404 NOT_FOUND
}
