package steps

import (
	"os"
	"strings"
)

// defaultPath is PATH for BaseEnv when Liftoff itself runs without one.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// BaseEnv returns the variables of Liftoff's own environment that builds
// need to work on this host, as KEY=VALUE, for callers to start a
// Spec.Env from: PATH (a standard one if unset), HOME, USER, LOGNAME,
// SHELL, locale and time zone (LANG, LANGUAGE, LC_*, TZ), TMPDIR, proxies
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, ALL_PROXY, in both cases) and CA
// bundles (SSL_CERT_FILE, SSL_CERT_DIR). Everything else, including
// Liftoff's own settings and secrets, is left out.
func BaseEnv() []string {
	return baseEnv(os.LookupEnv)
}

func baseEnv(lookup func(string) (string, bool)) []string {
	names := []string{
		"PATH", "HOME", "USER", "LOGNAME", "SHELL",
		"LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES",
		"LC_NUMERIC", "LC_TIME", "LC_MONETARY", "TZ", "TMPDIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
		"http_proxy", "https_proxy", "no_proxy", "all_proxy",
		"SSL_CERT_FILE", "SSL_CERT_DIR",
	}
	env := make([]string, 0, len(names))
	for _, name := range names {
		if v, ok := lookup(name); ok {
			env = append(env, name+"="+v)
		} else if name == "PATH" {
			env = append(env, "PATH="+defaultPath)
		}
	}
	return env
}

// ContainerEnv is env (KEY=VALUE, such as a Spec.Env or a release's Env,
// which start from BaseEnv) made the variables of something that runs in
// an image: a container release, a one-off container (a deploy command, a
// job run), an image build's arguments and secrets. It is the one rule
// for all of them: the entries BaseEnv put there (this host's PATH, HOME,
// locale, proxies ...) are dropped, as the image sets its own and the
// host's would be wrong in it; everything else is kept.
//
// The rule goes by KEY=VALUE, not by name: an entry is dropped only when
// it is exactly one of BaseEnv's. A variable the service sets itself
// stays, even one of a name BaseEnv has (PATH=/app/bin, TZ=Europe/Paris
// on a host in UTC); one it sets to the host's very value is dropped,
// and then the image's own applies. A later entry of a name replaces an
// earlier one, as in a process's environment.
func ContainerEnv(env []string) map[string]string {
	return containerEnv(env, BaseEnv())
}

func containerEnv(env, base []string) map[string]string {
	host := make(map[string]bool, len(base))
	for _, kv := range base {
		host[kv] = true
	}
	out := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && !host[kv] {
			out[k] = v
		}
	}
	return out
}
