package dashboard

import (
	"net/http"
	"net/url"
)

// flashCookie carries a message to the next page a browser opens: what a
// form did, after the redirect that follows it. Never a secret: a hook's
// URL is shown on the answer to the form itself.
const flashCookie = "liftoff_flash"

// maxFlash bounds a flash message, to keep within a cookie's size.
const maxFlash = 1000

// setFlash leaves msg for the next page.
func setFlash(w http.ResponseWriter, r *http.Request, d *Dashboard, msg string) {
	if len(msg) > maxFlash {
		msg = msg[:maxFlash] + "…"
	}
	http.SetCookie(w, d.cookie(r, flashCookie, url.QueryEscape(msg), 60))
}

// takeFlash returns the message a previous answer left, and forgets it.
func takeFlash(w http.ResponseWriter, r *http.Request, d *Dashboard) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(w, d.cookie(r, flashCookie, "", -1))
	msg, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return msg
}

// redirectWith sends the browser to path with a flash message.
func (d *Dashboard) redirectWith(w http.ResponseWriter, r *http.Request, path, msg string) error {
	setFlash(w, r, d, msg)
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}
