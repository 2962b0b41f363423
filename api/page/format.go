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
