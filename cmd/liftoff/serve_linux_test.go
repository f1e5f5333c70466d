package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/liftoffhq/liftoff/internal/server"
)

// TestServeFlagDefaults: every flag of serve shows the default the server
// applies, server.Config.WithDefaults (--shutdown-timeout used to show 0s
// while the server took 30s), and README's configuration table lists every
// flag with that default.
func TestServeFlagDefaults(t *testing.T) {
	def := server.Config{}.WithDefaults()
	// Each flag's default as the flag prints it. An empty one is a default
	// the server derives (--database-url, --public-url, --allowed-repos)
	// or an option that is off.
	want := map[string]string{
		"addr":                         def.Addr,
		"proxy-addr":                   def.ProxyAddr,
		"http-addr":                    "",
		"https-addr":                   def.HTTPSAddr,
		"metrics-addr":                 def.MetricsAddr,
		"acme-email":                   def.ACMEEmail,
		"acme-ca":                      def.ACMECA,
		"acme-ca-root":                 def.ACMECARoot,
		"hsts-max-age":                 def.HSTSMaxAge.String(),
		"acme-renew-interval":          def.ACMERenewInterval.String(),
		"data-dir":                     def.DataDir,
		"database-url":                 def.DatabaseURL,
		"managed-postgres-url":         def.ManagedPostgresURL,
		"managed-redis-url":            def.ManagedRedisURL,
		"notify-allow-private":         strconv.FormatBool(def.NotifyAllowPrivate),
		"public-url":                   def.PublicURL,
		"secret-key-file":              def.SecretKeyFile,
		"hook-rate-limit":              strconv.Itoa(def.HookRateLimit),
		"failed-call-limit":            strconv.Itoa(def.FailedCallLimit),
		"hook-success-type":            def.HookSuccessType,
		"shutdown-timeout":             def.ShutdownTimeout.String(),
		"restart-backoff":              def.RestartBackoff.String(),
		"restart-backoff-max":          def.RestartBackoffMax.String(),
		"max-restarts":                 strconv.Itoa(def.MaxRestarts),
		"demo":                         strconv.FormatBool(def.Demo),
		"github-webhook-secret":        def.GitHubWebhookSecret,
		"github-token":                 def.GitHubToken,
		"github-app-id":                strconv.FormatInt(def.GitHubAppID, 10),
		"github-app-key-file":          def.GitHubAppKeyFile,
		"github-api-url":               def.GitHubAPIURL,
		"allowed-repos":                strings.Join(def.AllowedRepos, ","),
		"workers":                      strconv.Itoa(def.Workers),
		"role":                         def.Role,
		"max-deployment-log-bytes":     byteSize{&def.MaxDeploymentLogBytes}.String(),
		"max-previews-per-environment": strconv.Itoa(def.MaxPreviewsPerEnvironment),
		"sandbox":                      def.Sandbox,
		"container-cli":                def.ContainerCLI,
		"container-runtime":            "",
		"container-cgroup-manager":     "",
		"container-storage-driver":     "",
		"container-ulimits":            def.ContainerUlimits,
		"sandbox-bind":                 "[" + strings.Join(def.SandboxBinds, ",") + "]",
		"build-cache-max-size":         byteSize{&def.BuildCacheMaxSize}.String(),
		"kubeconfig":                   "",
		"kube-namespace":               "",
		"kube-registry":                "",
		"kube-ingress-class":           "",
		"kube-default":                 "false",
		"kube-rollout-timeout":         def.KubeRolloutTimeout.String(),
		"kube-base-image":              "",
		"kube-registry-insecure":       "false",
		"kube-ingress-annotations":     "[]",
		"kube-ingress-tls":             "false",
		"trusted-proxies":              (*prefixList)(&def.TrustedProxies).String(),
		"database-timeout":             def.DatabaseTimeout.String(),
		// Not server.Config's: serve builds its logger itself.
		"log-format": "text",
		"log-level":  "info",
	}
	readme := readmeDefaults(t)
	serve := find(t, "serve")
	seen := map[string]bool{}
	serve.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		seen[f.Name] = true
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("--%s: give its default from server.Config{}.WithDefaults() and add it here", f.Name)
			return
		}
		if f.DefValue != w {
			t.Errorf("--%s defaults to %q, the server to %q", f.Name, f.DefValue, w)
		}
		doc, ok := readme[f.Name]
		switch {
		case !ok:
			t.Errorf("--%s is missing from README's configuration table", f.Name)
		case f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && doc != "`"+f.DefValue+"`":
			t.Errorf("README says --%s defaults to %s, the flag to %q", f.Name, doc, f.DefValue)
		}
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("serve has no --%s", name)
		}
	}
	for name := range readme {
		if !seen[name] {
			t.Errorf("README's configuration table lists --%s, which serve does not take", name)
		}
	}
}

// readmeDefaults reads README's configuration table: the default column of
// each flag, by name. A row may name several flags (`--a`, `--b`) with as
// many defaults.
func readmeDefaults(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	out := map[string]string{}
	for line := range strings.SplitSeq(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`--") {
			continue
		}
		flags := strings.Split(strings.TrimSpace(cells[1]), ", ")
		defaults := strings.Split(strings.TrimSpace(cells[2]), ", ")
		if len(defaults) != len(flags) {
			defaults = []string{strings.TrimSpace(cells[2])}
		}
		for i, f := range flags {
			out[strings.TrimPrefix(strings.Trim(f, "`"), "--")] = defaults[min(i, len(defaults)-1)]
		}
	}
	if len(out) == 0 {
		t.Fatal("README's configuration table lists no flag")
	}
	return out
}
