package federation

import "context"

// Conversation is one local account's view of a direct conversation: its
// direct statuses with the same other participants.
type Conversation struct {
	ID             int64
	ParticipantIDs []int64 // everyone else, author and mentioned accounts
	LastStatusID   int64
	Unread         bool
}

// ConversationStore reads and keeps an account's conversations (filled by
// the store as direct statuses are stored). Every method acts on the given
// account's conversations only.
type ConversationStore interface {
	// Conversations pages by last status, newest first.
	Conversations(ctx context.Context, accountID int64, p Page) ([]Conversation, error)
	Conversation(ctx context.Context, accountID, id int64) (*Conversation, error)
	// ConversationWithStatus finds the account's conversation whose last
	// status is statusID (the one a new direct status just updated).
	ConversationWithStatus(ctx context.Context, accountID, statusID int64) (*Conversation, error)
	MarkConversationRead(ctx context.Context, accountID, id int64) error
	// DeleteConversation removes it from the account's list (its statuses
	// stay); a new status brings it back.
	DeleteConversation(ctx context.Context, accountID, id int64) error
}
