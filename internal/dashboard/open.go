package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/liftoffhq/liftoff/internal/fail"
	"github.com/liftoffhq/liftoff/internal/protect"
)

// openTTL is how long the share link a signed-in member of the team gets
// for a protected host works: a working day, then they come back here.
const openTTL = 12 * time.Hour

// openProtected sends a signed-in member of the team who may read the
// environment back to a protected host of it with a share link: the page
// of a protected host links here, as the dashboard's cookie (the API's
// host) never reaches the preview's. The host must serve this very
// environment instance, so a link can never be sent to another host.
func (d *Dashboard) openProtected(w http.ResponseWriter, r *http.Request) error {
	if d.Protection == nil || d.InstanceAt == nil {
		return errNotFound
	}
	envID, err := positive(r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	pr := 0
	if s := q.Get("pr"); s != "" {
		if pr, err = strconv.Atoi(s); err != nil || pr <= 0 {
			return fail.Invalidf("pr %q is not a pull request's number", s)
		}
	}
	origin, err := url.Parse(q.Get("origin"))
	if err != nil || (origin.Scheme != "http" && origin.Scheme != "https") || origin.Host == "" || origin.Path != "" || origin.RawQuery != "" {
		return fail.Invalidf("origin %q is not the address of a service (http://host or https://host)", q.Get("origin"))
	}
	inst, ok := d.InstanceAt(origin.Host)
	if !ok || inst.EnvironmentID != envID || inst.PRNumber != pr {
		return fail.Invalidf("%s is not a service of this environment%s", origin.Host, prSuffix(pr))
	}
	link, err := d.Protection.Share(r.Context(), envID, protect.ShareRequest{PRNumber: pr, ExpiresIn: openTTL, Host: origin.Scheme + "://" + origin.Host})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, link.URL, http.StatusSeeOther)
	return nil
}

func prSuffix(pr int) string {
	if pr == 0 {
		return ""
	}
	return "'s pull request #" + strconv.Itoa(pr)
}
