package report

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/liftoffhq/liftoff/internal/notify"
)

// previewMarker is the hidden first line of the comment of a preview
// instance: how the comment is found again.
func previewMarker(environmentID int64, pr int) string {
	return fmt.Sprintf("<!-- liftoff:preview env=%d pr=%d -->", environmentID, pr)
}

// stateMarker records, in the comment, which event it shows: an event
// older than it (or the same one, delivered again) does not edit it.
var stateMarker = regexp.MustCompile(`<!-- liftoff:state deployment=(\S+) at=(-?\d+) rank=(\d) -->`)

type issueComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// comment makes or edits the preview instance's comment on its pull
// request.
func (r *Reporter) comment(ctx context.Context, rr repoRef, ev notify.Event, st state) error {
	pr := ev.Deployment.PRNumber
	marker := previewMarker(ev.Deployment.EnvironmentID, pr)
	h := fnv.New32a()
	fmt.Fprintf(h, "%s#%d", strings.ToLower(rr.repo), pr)
	lock := r.comments[h.Sum32()%uint32(len(r.comments))]
	select {
	case lock <- struct{}{}:
		defer func() { <-lock }()
	case <-ctx.Done():
		return ctx.Err()
	}
	found, err := r.findComment(ctx, rr.repo, pr, marker)
	if err != nil {
		return err
	}
	body := r.commentBody(ev, st, marker, rr.sha)
	if found == nil {
		_, err := r.call(ctx, rr.repo, "POST", "/repos/"+rr.repo+"/issues/"+itoa(pr)+"/comments", map[string]string{"body": body}, nil)
		return err
	}
	if m := stateMarker.FindStringSubmatch(found.Body); m != nil {
		at, _ := strconv.ParseInt(m[2], 10, 64)
		rank, _ := strconv.Atoi(m[3])
		ours := ev.At.UnixNano()
		if at > ours || (at == ours && rank >= st.rank) {
			return nil // it shows this event, or a later one
		}
	}
	if found.Body == body {
		return nil
	}
	_, err = r.call(ctx, rr.repo, "PATCH", fmt.Sprintf("/repos/%s/issues/comments/%d", rr.repo, found.ID), map[string]string{"body": body}, nil)
	return err
}

// findComment is the pull request's comment whose body starts with
// marker, or nil. It reads every page of comments.
func (r *Reporter) findComment(ctx context.Context, repo string, pr int, marker string) (*issueComment, error) {
	path := "/repos/" + repo + "/issues/" + itoa(pr) + "/comments?per_page=100"
	for path != "" {
		var list []issueComment
		h, err := r.call(ctx, repo, "GET", path, nil, &list)
		if err != nil {
			return nil, err
		}
		for i := range list {
			if strings.HasPrefix(list[i].Body, marker) {
				return &list[i], nil
			}
		}
		path = r.nextPage(h)
	}
	return nil, nil
}

// commentBody is the comment: the markers, what happened, and a table of
// the services.
func (r *Reporter) commentBody(ev notify.Event, st state, marker, sha string) string {
	d := ev.Deployment
	var b strings.Builder
	b.WriteString(marker + "\n")
	fmt.Fprintf(&b, "<!-- liftoff:state deployment=%s at=%d rank=%d -->\n", d.ID, ev.At.UnixNano(), st.rank)
	fmt.Fprintf(&b, "### Liftoff preview: %s\n\n", cell(environmentName(ev)))
	short := sha
	if len(short) > 7 {
		short = short[:7]
	}
	fmt.Fprintf(&b, "**%s**: commit `%s`", titleWord(st.word), short)
	if u := r.deploymentURL(d.ID); u != "" {
		fmt.Fprintf(&b, " · [deployment %s](%s)", cell(d.ID), u)
	} else {
		fmt.Fprintf(&b, " · deployment %s", cell(d.ID))
	}
	if st.rank == rankFinal && len(d.Errors) > 0 {
		fmt.Fprintf(&b, "\n\n> %s", cell(d.Errors[0].Message))
	}
	b.WriteString("\n\n")
	if len(d.Services) == 0 {
		b.WriteString("The services show here once the deployment has planned them.\n")
	} else {
		b.WriteString("| Service | URL | Status |\n|---|---|---|\n")
		for _, s := range d.Services {
			name := s.ServiceName
			if name == "" {
				name = s.ServiceGivenID
			}
			link := "—"
			if s.ServiceDomain != "" {
				link = "[" + cell(s.ServiceDomain) + "](" + s.ServiceDomain + ")"
			}
			fmt.Fprintf(&b, "| %s (`%s`) | %s | %s |\n", cell(name), cell(s.ServiceGivenID), link, cell(string(s.Status)))
		}
	}
	fmt.Fprintf(&b, "\n<sub>Updated %s by Liftoff.</sub>\n", ev.At.UTC().Format(time.DateTime+" UTC"))
	return b.String()
}

func titleWord(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// cell makes s safe in a table cell and in one line of markdown: no
// newline, no pipe, no HTML.
func cell(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}
