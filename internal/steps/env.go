package steps

import "os"

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
