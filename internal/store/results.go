package store

import "github.com/liftoffhq/liftoff/internal/liftoff"

// HookTarget is what a hook call reads before deciding anything.
type HookTarget struct {
	Environment  liftoff.Environment
	ProjectID    string
	RepoURL      string
	Hooks        []liftoff.Hook
	ServiceCount int
}

// LivePreviews counts what takes a place under the limit of preview
// instances of one preview environment: its live instances and the pull
// requests with a deployment queued or running that will create one.
type LivePreviews struct {
	Count int
	// Includes reports whether the pull request asked about is one of
	// them: deploying it again takes no new place.
	Includes bool
}
