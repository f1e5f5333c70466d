package api

// RouteInfo is a route of the table as the black-box tests see it.
type RouteInfo struct {
	Pattern string // "METHOD /path"
	// Need is the scope the route needs: public, read, deploy or admin.
	Need string
	// Env is where it finds the environment: "", path, hook, deployment,
	// query or service.
	Env        string
	HookSecret bool
	Does       string
}

// RouteTable returns the route table the API serves.
func RouteTable() []RouteInfo {
	var out []RouteInfo
	for _, rt := range (&API{}).table() {
		env := [...]string{noEnv: "", envPath: "path", envOfHook: "hook", envOfDeployment: "deployment", envQuery: "query",
			envOfService: "service", envOfJobExecution: "job execution"}[rt.env]
		out = append(out, RouteInfo{Pattern: rt.pattern, Need: string(rt.need), Env: env, HookSecret: rt.hookSecret, Does: rt.does})
	}
	return out
}
