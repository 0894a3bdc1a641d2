package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

// newChatCommand is the chat group: one chat, and its conversation (in
// conversation.go).
func newChatCommand(e *env, o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Read a chat and its messages, answer it, or start one about an order or a return",
	}
	cmd.AddCommand(
		newGetCommand(e, o),
		newNewCommand(e, o),
		newHistoryCommand(e, o),
		newMessageCommand(e, o),
		newSendCommand(e, o),
		newSendFileCommand(e, o),
		newDownloadCommand(e, o),
	)
	return cmd
}

func newGetCommand(e *env, o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "get CHAT_ID",
		Short:             "Show one chat",
		Example:           "  ymchat chat get 5000003",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChatID(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("CHAT_ID", args[0])
			if err != nil {
				return err
			}
			prog := &progress{w: e.stderr, on: e.isTerminal(e.stderr)}
			defer prog.clear()
			return o.withClient(cmd, e, prog.waitHook, func(ctx context.Context, s *session) error {
				c, err := s.client.GetChat(ctx, s.business, id)
				prog.clear()
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(e.stdout, toJSON(c))
				}
				printChat(e, c)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newNewCommand(e *env, o *options) *cobra.Command {
	var (
		order, ret int64
		asJSON     bool
	)
	cmd := &cobra.Command{
		Use:   "new --order ID | --return ID",
		Short: "Start a chat about an order or a return (or get the one that exists)",
		Long: `Start a chat with the customer about an order or a return, and print its id.
If a chat about it exists already, the Market returns that one.`,
		Example: "  ymchat chat new --order 10043070",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var about = chatclient.Order(order)
			switch {
			case cmd.Flags().Changed("order") == cmd.Flags().Changed("return"):
				return usagef("give exactly one of --order ID or --return ID")
			case cmd.Flags().Changed("return"):
				about = chatclient.Return(ret)
			}
			prog := &progress{w: e.stderr, on: e.isTerminal(e.stderr)}
			defer prog.clear()
			return o.withClient(cmd, e, prog.waitHook, func(ctx context.Context, s *session) error {
				id, err := s.client.CreateChat(ctx, s.business, about)
				prog.clear()
				if err != nil {
					return err
				}
				return printChatID(e.stdout, id, asJSON)
			})
		},
	}
	idFlag(cmd.Flags(), &order, "order", "the order to talk about")
	idFlag(cmd.Flags(), &ret, "return", "the return to talk about")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
