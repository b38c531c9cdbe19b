package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// pages are the parsed templates, one set per page, each with the layout.
type pages map[string]*template.Template

var pageNames = []string{"login", "error", "evaluations", "evaluation", "policies", "inventory", "approvals", "replays", "replay"}

func parsePages() (pages, error) {
	funcs := template.FuncMap{
		"time":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"date":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"short":    short,
		"duration": duration,
		"outcome":  outcomeLabel,
		"action":   actionLabel,
		"add":      func(a, b int) int { return a + b },
		"deref":    func(p *int) int { return *p },
		"dict":     dict,
	}
	out := pages{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// common is what every page's layout shows.
type common struct {
	Base, Title string
	// Nav names the current section (evaluations, approvals, policies, …).
	Nav   string
	Login string
	CSRF  string
	Admin bool
	// Replay shows the Replay section (an administrator, with replays on).
	Replay bool
	// Refresh, when not 0, reloads the page after as many seconds: a
	// running replay's progress without script.
	Refresh int
	// Status and Message are an error page's.
	Status  int
	Message string
}

func (c *Console) common(r *http.Request, v *viewer, title string) common {
	d := common{Base: c.base, Title: title}
	if v != nil {
		d.Login, d.CSRF, d.Admin = v.sess.Login, v.csrf, v.access.admin
		d.Replay = v.access.admin && c.opts.Replays != nil
	}
	return d
}

// render executes a page into a buffer first, so that a template error is
// a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, data); err != nil {
		c.log.Error("console: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// duration prints nanoseconds for people.
func duration(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	}
}

// outcomeLabel names an outcome in words: the colour beside it is never
// the only sign.
func outcomeLabel(outcome string, dryRun bool) string {
	switch {
	case outcome == "deny":
		return "denied"
	case outcome == "error":
		return "error"
	case dryRun:
		return "dry-run findings"
	default:
		return "allowed"
	}
}

// actionLabel names what was done on GitHub.
func actionLabel(name string) string {
	switch {
	case name == "cancel":
		return "cancelled"
	case name == "force_cancel":
		return "force-cancelled"
	case name == "check_run":
		return "check run"
	case strings.HasPrefix(name, "comment:"):
		return "comment on #" + strings.TrimPrefix(name, "comment:")
	}
	return name
}

// dict builds a map for a sub-template from name, value pairs.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: %d arguments, want pairs", len(kv))
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}
