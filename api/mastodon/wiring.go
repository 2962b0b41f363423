package mastodon

import (
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/list"
	"github.com/roost-social/roost/federation/social/search"
	"github.com/roost-social/roost/federation/social/tag"
)

// SocialStore is one store keeping all of the social core the client API
// serves beyond statuses and accounts (federation/postgres.Store does).
type SocialStore interface {
	federation.ListStore
	federation.FilterStore
	federation.ConversationStore
	federation.EmojiStore
	federation.DomainBlockStore
	federation.ReportStore
	federation.TrendStore
	search.Store
	federation.RelationStore // accountroutes.go
	account.Follows
	federation.TagStore          // tags.go
	federation.NotificationStore // notifications.go
}

// UseSocialStore wires lists, filters, conversations, custom emojis,
// domain blocks, reports, search and trends to one store, with network
// for search's lookups on other servers. It runs after Views is set (the
// filters use case checks who may see a filtered status through it).
func (h *Handler) UseSocialStore(s SocialStore, network search.Network) {
	h.Lists = &list.Service{Store: s}
	h.Filters = &filter.Service{Store: s, Statuses: h.Views, Hidden: s}
	h.Conversations = s
	h.Emojis = s
	h.DomainBlocks = s
	h.Reports = s
	h.Search = &search.Service{Store: s, Network: network, Sites: h.Sites}
	h.Search.Collections, _ = network.(search.Collections) // the outbox reads remote collections
	h.Trends = s
	h.Relations = &account.Relations{Store: s, Accounts: h.Accounts, Follows: s, Answer: h.Outbox}
	h.Tags = &tag.Service{Store: s}
	h.Notifications = s
}
