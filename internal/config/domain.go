package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Custom domains: a web or static service's "domain" and a preview
// environment's "previewDomain" template.

// Placeholders of PreviewDomain.
const (
	placeholderService = "{service}"
	placeholderPR      = "{pr}"
)

// ServesDomain reports whether the service is one a "domain" applies to:
// web and static services, which people reach.
func (s Service) ServesDomain() bool { return s.Type == TypeWeb || s.Type == TypeStatic }

// PreviewHost is the host name of service in preview instance pr from the
// environment's PreviewDomain, lowercase; "" without one.
func (e *Environment) PreviewHost(service string, pr int) string {
	if e.PreviewDomain == "" || pr <= 0 {
		return ""
	}
	h := strings.ReplaceAll(e.PreviewDomain, placeholderService, service)
	return strings.ToLower(strings.ReplaceAll(h, placeholderPR, strconv.Itoa(pr)))
}

// checkHostName says what is wrong with a host name people would type, or
// "": lowercase or not, at least two labels, no scheme, port, path or IP
// address; a leading "*." makes a wildcard when wildcard is allowed.
func checkHostName(h string, wildcard bool) string {
	switch {
	case h == "":
		return "is empty"
	case strings.Contains(h, "://"):
		return "is a URL: give the host name alone (app.example.com)"
	case strings.ContainsAny(h, "/:?#@ "):
		return "is not a host name: give the name alone, without a port or a path (app.example.com)"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return "is an IP address: a domain is a host name, whose certificate Liftoff can obtain"
	}
	name := strings.TrimSuffix(h, ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		if !wildcard {
			return "is a wildcard, which is not allowed here"
		}
		name = rest
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "has a single label: give a full domain (app.example.com)"
	}
	for _, l := range labels {
		if why := checkLabel(l); why != "" {
			return why
		}
	}
	if len(name) > 253 {
		return "is longer than 253 characters"
	}
	if labels[len(labels)-1] == "localhost" {
		return "is under .localhost, which Liftoff already serves (<service>.<environment>.localhost)"
	}
	return ""
}

func checkLabel(l string) string {
	if l == "" {
		return "has an empty label (two dots in a row, or a leading dot)"
	}
	if len(l) > 63 {
		return fmt.Sprintf("has the label %q, longer than 63 characters", l)
	}
	for i, r := range l {
		ok := r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
		if !ok {
			return fmt.Sprintf("has the character %q in the label %q: use letters, digits and '-'", r, l)
		}
		if r == '-' && (i == 0 || i == len(l)-1) {
			return fmt.Sprintf("has the label %q, which starts or ends with '-'", l)
		}
	}
	return ""
}

// checkPreviewDomain says what is wrong with a previewDomain template, or "".
func checkPreviewDomain(t string) string {
	if !strings.Contains(t, placeholderPR) || !strings.Contains(t, placeholderService) {
		return `must hold {service} and {pr}, so every service of every preview instance gets a name of its own: "{service}-pr-{pr}.preview.example.com"`
	}
	sample := strings.ReplaceAll(strings.ReplaceAll(t, placeholderService, "web"), placeholderPR, "1")
	if why := checkHostName(sample, false); why != "" {
		return "does not make host names: " + strings.Replace(why, "is ", "gives one that is ", 1)
	}
	return ""
}

// checkDomains checks the services' domains and that no two services of
// the environment claim one host.
func checkDomains(env *Environment, ep string, ps *problems) {
	claimed := map[string]string{}
	for j := range env.Services {
		s := &env.Services[j]
		if s.Domain == "" {
			continue
		}
		dp := child(ep, "services", j, "domain")
		if !s.ServesDomain() {
			ps.warnf(dp, "only applies to web and static services, which people reach; ignored for %s, a %s service", named("service", s.ID), s.Type)
			continue
		}
		if why := checkHostName(s.Domain, true); why != "" {
			ps.errorf(dp, "%q %s", s.Domain, why)
			continue
		}
		if env.IsPreview() {
			ps.warnf(dp, `previews never use a service's domain (it is production's): preview hosts come from the environment's "previewDomain"; ignored`)
			continue
		}
		h := strings.ToLower(strings.TrimSuffix(s.Domain, "."))
		if other, dup := claimed[h]; dup {
			ps.errorf(dp, "services %s and %s both have the domain %q: a host leads to one service; remove it from one", other, s.ID, h)
			continue
		}
		claimed[h] = s.ID
	}
}
