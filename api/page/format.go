package page

import (
	"html/template"
	"time"
)

// timeLayout is how pages show a time: for people, in UTC.
const timeLayout = "2 Jan 2006 15:04 UTC"

// When formats a time.Time or *time.Time for people, in UTC; a nil
// pointer, or anything else, is "—".
func When(v any) string {
	switch t := v.(type) {
	case time.Time:
		return t.UTC().Format(timeLayout)
	case *time.Time:
		if t != nil {
			return t.UTC().Format(timeLayout)
		}
	}
	return "—"
}

// Funcs are the template functions every area's templates have: "when".
func Funcs() template.FuncMap { return template.FuncMap{"when": When} }

// Date shows a client API timestamp (RFC 3339) for people; text that is
// not one is shown as it is.
func Date(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return When(t)
}

// Percent is n of total as a whole percentage (a poll option's votes;
// nil when hidden until the poll ends).
func Percent(n *int, total int) int {
	if n == nil || total <= 0 {
		return 0
	}
	return *n * 100 / total
}
