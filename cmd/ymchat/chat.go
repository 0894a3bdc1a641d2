package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

func newChatCommand(e *env, o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chat",
		Short: "Read a chat and its messages, answer it, or start one about an order or a return",
	}
	var asJSON bool
	get := &cobra.Command{
		Use:     "get CHAT_ID",
		Short:   "Show one chat",
		Example: "  ymchat chat get 5000003",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("CHAT_ID", args[0])
			if err != nil {
				return err
			}
			return o.withClient(cmd, e, nil, func(ctx context.Context, s *session) error {
				c, err := s.client.GetChat(ctx, s.business, id)
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
	get.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var order, ret int64
	var newJSON bool
	create := &cobra.Command{
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
			return o.withClient(cmd, e, nil, func(ctx context.Context, s *session) error {
				id, err := s.client.CreateChat(ctx, s.business, about)
				if err != nil {
					return err
				}
				if newJSON {
					return json.NewEncoder(e.stdout).Encode(map[string]int64{"chatId": id})
				}
				fmt.Fprintln(e.stdout, id)
				return nil
			})
		},
	}
	idFlag(create.Flags(), &order, "order", "the order to talk about")
	idFlag(create.Flags(), &ret, "return", "the return to talk about")
	create.Flags().BoolVar(&newJSON, "json", false, "print JSON")
	cmd.AddCommand(get, create, newHistoryCommand(e, o), newMessageCommand(e, o),
		newSendCommand(e, o), newSendFileCommand(e, o))
	return cmd
}

func printChat(e *env, c chatclient.Chat) {
	w := e.stdout
	fmt.Fprintf(w, "chat      %d\n", c.ID)
	fmt.Fprintf(w, "type      %s\n", c.Type)
	fmt.Fprintf(w, "status    %s\n", c.Status)
	fmt.Fprintf(w, "about     %s\n", contextText(c.Context))
	if c.Context.CampaignID != 0 {
		fmt.Fprintf(w, "campaign  %d\n", c.Context.CampaignID)
	}
	if cu := c.Context.Customer; cu.Name != "" || cu.PublicID != "" {
		fmt.Fprintf(w, "customer  %s (%s)\n", cu.Name, cu.PublicID)
	}
	fmt.Fprintf(w, "created   %s\n", c.CreatedAt.In(msk).Format("2006-01-02 15:04 MST"))
	ago := age(e.now(), c.UpdatedAt)
	if ago != "now" {
		ago += " ago"
	}
	fmt.Fprintf(w, "updated   %s (%s)\n", c.UpdatedAt.In(msk).Format("2006-01-02 15:04 MST"), ago)
}
