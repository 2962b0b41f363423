// Package social is Roost's social core: the use cases of accounts,
// posts, timelines, lists, filters, reports and the rest of what people do
// on a tenant, one subpackage per concept (report, timeline, filter, list,
// media, ...). Each use case holds the rules; the Mastodon API, the
// ActivityPub inbox, the dashboards and the CLI call it, and it reaches
// storage and delivery only through the ports of package federation.
package social
