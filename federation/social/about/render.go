package about

import (
	"html"
	"regexp"
	"strings"
)

// Render turns what an admin wrote into the HTML apps show, as a small
// Markdown: blank lines separate paragraphs, "# " to "### " lines are
// headings, lines starting "- " or "* " are a list, other single newlines
// are line breaks, [label](https://…) is a link, and bare http(s) URLs are
// linked. Everything else is escaped text: no HTML of the admin's passes,
// so nothing they paste runs in an app.
func Render(text string) string {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	var b strings.Builder
	for _, block := range paragraphBreak.Split(text, -1) {
		if block = strings.TrimSpace(block); block != "" {
			renderBlock(&b, strings.Split(block, "\n"))
		}
	}
	return b.String()
}

// paragraphBreak is a blank line, spaces on it included.
var paragraphBreak = regexp.MustCompile(`\n[ \t]*\n`)

func renderBlock(b *strings.Builder, lines []string) {
	var para []string
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, "<br>") + "</p>")
			para = nil
		}
	}
	inList := false
	for _, l := range lines {
		l = strings.TrimSpace(l)
		item, isItem := strings.CutPrefix(l, "- ")
		if !isItem {
			item, isItem = strings.CutPrefix(l, "* ")
		}
		if isItem {
			flush()
			if !inList {
				b.WriteString("<ul>")
				inList = true
			}
			b.WriteString("<li>" + inline(item) + "</li>")
			continue
		}
		if inList {
			b.WriteString("</ul>")
			inList = false
		}
		if level, title := heading(l); level > 0 {
			flush()
			tag := "h" + string(rune('0'+level))
			b.WriteString("<" + tag + ">" + inline(title) + "</" + tag + ">")
			continue
		}
		para = append(para, inline(l))
	}
	if inList {
		b.WriteString("</ul>")
	}
	flush()
}

// heading reads "# title" to "### title".
func heading(l string) (int, string) {
	n := 0
	for n < len(l) && n < 4 && l[n] == '#' {
		n++
	}
	if n == 0 || n > 3 || n >= len(l) || l[n] != ' ' {
		return 0, ""
	}
	return n, strings.TrimSpace(l[n:])
}

// links are [label](url) and bare URLs, http and https only.
var links = regexp.MustCompile(`\[([^\]\n]{1,200})\]\((https?://[^\s()<>"]{1,1000})\)|https?://[^\s<>"]{1,1000}`)

// inline escapes a line and links its URLs.
func inline(l string) string {
	var b strings.Builder
	last := 0
	for _, m := range links.FindAllStringSubmatchIndex(l, -1) {
		b.WriteString(html.EscapeString(l[last:m[0]]))
		var label, url string
		if m[2] >= 0 {
			label, url = l[m[2]:m[3]], l[m[4]:m[5]]
		} else {
			// A sentence's closing punctuation is not part of the URL.
			url = strings.TrimRight(l[m[0]:m[1]], ".,;:!?)")
			m[1] = m[0] + len(url)
			label = url
		}
		b.WriteString(`<a href="` + html.EscapeString(url) + `" rel="nofollow noopener" target="_blank">` + html.EscapeString(label) + `</a>`)
		last = m[1]
	}
	b.WriteString(html.EscapeString(l[last:]))
	return b.String()
}
