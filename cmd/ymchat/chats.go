package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

type chatsFlags struct {
	statuses, types, contextTypes []string
	orders, returns               []int64
	typedOrders, typedReturns     []string
	limit                         int
	pageToken                     string
	sort                          string
	json, jsonl                   bool
}

func newChatsCommand(e *env, o *options) *cobra.Command {
	f := &chatsFlags{}
	cmd := &cobra.Command{
		Use:   "chats",
		Short: "List chats, all pages, with filters",
		Long: `List the business's chats that match every filter given, fetching all pages.

Filters take one or more values (repeat the flag or separate with commas):
  --status        ` + joinValues(chatclient.ChatStatuses()) + `
                  (WAITING_FOR_PARTNER: waiting for you)
  --type          ` + joinValues(chatclient.ChatTypes()) + `
  --context-type  ` + joinValues(chatclient.ContextTypes()) + `
  --order ID, --return ID   chats about these orders or returns

Output is a table, its rows printed as pages arrive, fitted to the terminal's
width (long customer names and contexts are cut with "…"), and a count line;
--json prints one JSON document, --jsonl one chat per line as pages arrive.

--sort updated lists the chats updated longest ago first (who has waited
longest), --sort -updated the newest first; sorting needs every chat, so the
output comes at the end, and --limit N then prints the first N of them.

--limit N stops after N chats and prints the command that resumes the listing
(the same filters and a --page-token).`,
		Example: `  ymchat chats --status WAITING_FOR_PARTNER
  ymchat chats --context-type RETURN --jsonl | jq .chatId
  ymchat chats --limit 40 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listChats(cmd, e, o, f) },
	}
	fl := cmd.Flags()
	fl.Var(enumsValue{&f.statuses, "STATUS"}, "status", "only chats in these statuses")
	fl.Var(enumsValue{&f.types, "TYPE"}, "type", "only chats of these types")
	fl.Var(enumsValue{&f.contextTypes, "CONTEXT_TYPE"}, "context-type", "only chats about these context types")
	idsFlag(fl, &f.orders, &f.typedOrders, "order", "only chats about these orders")
	idsFlag(fl, &f.returns, &f.typedReturns, "return", "only chats about these returns")
	fl.IntVar(&f.limit, "limit", 0, "stop after this many chats (0: all)")
	fl.Var(stringValue{&f.pageToken, "TOKEN"}, "page-token", "resume a listing from this token")
	fl.Var(stringValue{&f.sort, "ORDER"}, "sort", `order by update time: "updated" (oldest first) or "-updated" (newest first)`)
	fl.BoolVar(&f.json, "json", false, "print one JSON document")
	fl.BoolVar(&f.jsonl, "jsonl", false, "print one JSON chat per line, as pages arrive")
	cmd.MarkFlagsMutuallyExclusive("json", "jsonl")
	_ = cmd.RegisterFlagCompletionFunc("status", completeList(chatclient.ChatStatuses))
	_ = cmd.RegisterFlagCompletionFunc("type", completeList(chatclient.ChatTypes))
	_ = cmd.RegisterFlagCompletionFunc("context-type", completeList(chatclient.ContextTypes))
	_ = cmd.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions([]string{
		"updated\toldest update first", "-updated\tnewest update first"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// check names the flag and the value typed of a filter the Market would refuse.
func (f *chatsFlags) check() error {
	for _, err := range []error{
		checkEnums("--status", f.statuses, chatclient.ChatStatuses()),
		checkEnums("--type", f.types, chatclient.ChatTypes()),
		checkEnums("--context-type", f.contextTypes, chatclient.ContextTypes()),
		checkIDs("--order", f.typedOrders, f.orders),
		checkIDs("--return", f.typedReturns, f.returns),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *chatsFlags) filter() chatclient.Filter {
	var flt chatclient.Filter
	for _, s := range f.statuses {
		flt.Statuses = append(flt.Statuses, chatclient.ChatStatus(strings.ToUpper(strings.TrimSpace(s))))
	}
	for _, s := range f.types {
		flt.Types = append(flt.Types, chatclient.ChatType(strings.ToUpper(strings.TrimSpace(s))))
	}
	for _, s := range f.contextTypes {
		flt.ContextTypes = append(flt.ContextTypes, chatclient.ContextType(strings.ToUpper(strings.TrimSpace(s))))
	}
	for _, id := range f.orders {
		flt.Subjects = append(flt.Subjects, chatclient.Order(id))
	}
	for _, id := range f.returns {
		flt.Subjects = append(flt.Subjects, chatclient.Return(id))
	}
	return flt
}

func listChats(cmd *cobra.Command, e *env, o *options, f *chatsFlags) error {
	if f.limit < 0 {
		return usagef("invalid --limit %d: must not be negative", f.limit)
	}
	if err := f.check(); err != nil {
		return err
	}
	switch f.sort {
	case "", "updated", "-updated":
	default:
		return usagef("invalid --sort %q: must be updated (oldest first) or -updated (newest first)", f.sort)
	}
	if f.sort != "" && f.pageToken != "" {
		return usagef("--sort needs every chat: it cannot be combined with --page-token")
	}
	prog := &progress{w: e.stderr, on: e.isTerminal(e.stderr)}
	defer prog.clear()
	return o.withClient(cmd, e, prog.waitHook, func(ctx context.Context, s *session) error {
		return listPages(ctx, e, s, f, prog)
	})
}

// listPages fetches the pages through the library's page iterator, streaming the
// table and --jsonl as they come (unless sorting), and prints the rest at the end.
func listPages(ctx context.Context, e *env, s *session, f *chatsFlags, prog *progress) error {
	out := e.stdout
	var chats []chatclient.Chat
	enc := json.NewEncoder(out)
	width := 0
	if e.width != nil {
		width = e.width()
	}
	table := newChatTable(out, e.now(), width)
	stream := f.sort == ""
	top := 0 // sorted, --limit keeps the first N of every chat
	if !stream {
		top, f.limit = f.limit, 0
	}
	filter := f.filter()
	token, pages := f.pageToken, 0
	take := func(page *chatclient.ChatPage) error {
		pages++
		chats = append(chats, page.Chats...)
		token = page.NextPageToken
		if stream && !f.json {
			prog.clear() // the rows must not land after the progress line on a terminal
			if f.jsonl {
				for _, c := range page.Chats {
					if err := enc.Encode(toJSON(c)); err != nil {
						return err
					}
				}
			} else {
				table.add(page.Chats...)
			}
		}
		prog.show("pages %d, chats %d", pages, len(chats))
		return nil
	}
	// Whole pages through the iterator; with --limit, the pages that fit, and then one
	// smaller page, so that the token printed resumes exactly after the last chat shown.
	more := func() bool { return f.limit == 0 || f.limit-len(chats) >= chatclient.MaxPageSize }
	if more() {
		for page, err := range s.client.ChatPages(ctx, s.business, filter, chatclient.PageRequest{Token: token}) {
			if err != nil {
				return err
			}
			if err := take(page); err != nil {
				return err
			}
			if !more() {
				break
			}
		}
	}
	if rest := f.limit - len(chats); f.limit > 0 && rest > 0 && (token != "" || pages == 0) {
		page, err := s.client.ListChats(ctx, s.business, filter, chatclient.PageRequest{Limit: rest, Token: token})
		if err != nil {
			return err
		}
		if err := take(page); err != nil {
			return err
		}
	}
	prog.clear()
	sortChats(chats, f.sort)
	if top > 0 && len(chats) > top {
		chats = chats[:top]
	}
	rememberChats(e, chats)

	switch {
	case f.json:
		if err := printChatsJSON(out, chats, token); err != nil {
			return err
		}
	case f.jsonl:
		if !stream {
			for _, c := range chats {
				if err := enc.Encode(toJSON(c)); err != nil {
					return err
				}
			}
		}
	default:
		if !stream {
			table.add(chats...)
		}
		table.end()
	}
	if token != "" && !f.json {
		printResume(e.stderr, e.args, token)
	}
	return nil
}

// sortChats orders chats by update time: "updated" oldest first, "-updated" newest
// first; the listing's order breaks ties.
func sortChats(chats []chatclient.Chat, by string) {
	switch by {
	case "updated":
		slices.SortStableFunc(chats, func(a, b chatclient.Chat) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	case "-updated":
		slices.SortStableFunc(chats, func(a, b chatclient.Chat) int { return b.UpdatedAt.Compare(a.UpdatedAt) })
	}
}
