package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

type triggerFlags struct {
	text, status, customer string
	json                   bool
}

func newTriggerCommand(e *env, o *options) *cobra.Command {
	f := &triggerFlags{}
	cmd := &cobra.Command{
		Use:   "trigger EVENT [CHAT_ID]",
		Short: `Make a running "ymchat fake" act: a customer writes, a dispute starts...`,
		Long: `Make a running "ymchat fake" act as the Market or a customer would; the
notification follows to the fake's receivers (see ymchat fake --notify) as the
Market would send it. It talks to the fake at --base-url (or YM_BASE_URL) with
the same token, through the fake's own controls under /_fake/: it works only
against the fake, never against the Market.

Events:
  customer-writes CHAT_ID -m TEXT  the customer writes (CHAT_MESSAGE_SENT)
  sticker CHAT_ID                  a customer's sticker (CHAT_MESSAGE_SENT)
  chat-created [-m TEXT]           a customer starts a chat (CHAT_CREATED)
  arbitrage-started CHAT_ID        the customer opens a dispute
                                   (CHAT_ARBITRAGE_STARTED)
  arbitrage-finished CHAT_ID       the dispute ends (CHAT_ARBITRAGE_FINISHED)
  status CHAT_ID --status STATUS   the chat moves (no notification)

It prints what the event made: the chat, the message and the notification.`,
		Example: `  ymchat trigger customer-writes 5000003 -m "Where is my order?"
  ymchat trigger chat-created -m "Hello"
  ymchat trigger status 5000003 --status WAITING_FOR_ARBITER`,
		Args: cobra.RangeArgs(1, 2),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return chattest.TriggerEvents(), cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error { return trigger(cmd.Context(), e, o, f, args) },
	}
	fl := cmd.Flags()
	fl.VarP(stringValue{&f.text, "TEXT"}, "message", "m", "what the customer writes (customer-writes, chat-created)")
	fl.Var(stringValue{&f.status, "STATUS"}, "status", "where the chat moves (status): "+joinValues(chatclient.ChatStatuses()))
	fl.Var(stringValue{&f.customer, "NAME"}, "customer", "the customer's name (chat-created)")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	_ = cmd.RegisterFlagCompletionFunc("status", completeList(chatclient.ChatStatuses))
	return cmd
}

func trigger(ctx context.Context, e *env, o *options, f *triggerFlags, args []string) error {
	t := chattest.Trigger{Event: args[0], Text: f.text, Customer: f.customer,
		Status: chatclient.ChatStatus(strings.ToUpper(strings.TrimSpace(f.status)))}
	known := false
	for _, ev := range chattest.TriggerEvents() {
		known = known || ev == t.Event
	}
	if !known {
		return usagef("unknown event %q: want one of %s", t.Event, strings.Join(chattest.TriggerEvents(), ", "))
	}
	switch {
	case t.Event == chattest.TriggerChatCreated && len(args) == 2:
		return usagef("chat-created starts a new chat: give no CHAT_ID")
	case t.Event != chattest.TriggerChatCreated && len(args) < 2:
		return usagef("%s needs a CHAT_ID", t.Event)
	case t.Event == chattest.TriggerCustomerWrites && strings.TrimSpace(f.text) == "":
		return usagef("customer-writes needs the text: -m TEXT")
	case t.Event == chattest.TriggerStatus:
		if err := checkEnums("--status", []string{f.status}, chatclient.ChatStatuses()); err != nil {
			return err
		}
	}
	if len(args) == 2 {
		id, err := parseID("CHAT_ID", args[1])
		if err != nil {
			return err
		}
		t.ChatID = id
	}
	business := o.business
	if business == 0 {
		business = 100 // the fake's fixture business
	}
	t.BusinessID = business
	if o.baseURL == "" {
		return usagef(`no fake to drive: set YM_BASE_URL or --base-url to the URL "ymchat fake" printed`)
	}
	token, err := o.token(e)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(t)
	ctx, cancel := o.context(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(o.baseURL, "/")+chattest.ControlPrefix+"trigger", bytes.NewReader(body))
	if err != nil {
		return usagef("invalid base URL %q: %v", o.baseURL, err)
	}
	req.Header.Set("Api-Key", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("trigger: %w (is \"ymchat fake\" running there?)", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var env struct {
			Errors []struct{ Message string } `json:"errors"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &env) == nil && len(env.Errors) > 0 {
			msg = env.Errors[0].Message
		}
		if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(msg, "no ") && !strings.Contains(msg, "chat") {
			msg += ` (is --base-url a "ymchat fake"?)`
		}
		return fmt.Errorf("trigger %s: %d %s", t.Event, resp.StatusCode, msg)
	}
	var res chattest.TriggerResult
	if err := json.Unmarshal(data, &res); err != nil {
		return fmt.Errorf("trigger: the fake answered %q: %w", data, err)
	}
	return printTriggered(e.stdout, t.Event, res, f.json)
}
