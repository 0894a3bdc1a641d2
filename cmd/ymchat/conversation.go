package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

func newHistoryCommand(e *env, o *options) *cobra.Command {
	var (
		from        int64
		limit       int
		json, jsonl bool
	)
	cmd := &cobra.Command{
		Use:   "history CHAT_ID",
		Short: "Print a chat's messages, oldest first, all pages",
		Long: `Print every message of a chat, oldest first, fetching all pages: the time
(MSK), who wrote it, the text, and the attachments (name, size, URL) on the
lines after.

--from MESSAGE_ID starts at that message; --limit N stops after N messages.
--json prints one JSON document, --jsonl one message per line as pages arrive.`,
		Example: `  ymchat chat history 5000003
  ymchat chat history 5000008 --from 1000100 --limit 20 --jsonl`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChatID(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			chatID, err := parseID("CHAT_ID", args[0])
			if err != nil {
				return err
			}
			if limit < 0 {
				return usagef("invalid --limit %d: must not be negative", limit)
			}
			prog := &progress{w: e.stderr, on: e.isTerminal(e.stderr)}
			defer prog.clear()
			return o.withClient(cmd, e, prog.waitHook, func(ctx context.Context, s *session) error {
				return history(ctx, e, s, prog, chatID, from, limit, json, jsonl)
			})
		},
	}
	fl := cmd.Flags()
	idFlag(fl, &from, "from", "start at this message id (default: the first message)")
	fl.IntVar(&limit, "limit", 0, "stop after this many messages (0: all)")
	fl.BoolVar(&json, "json", false, "print one JSON document")
	fl.BoolVar(&jsonl, "jsonl", false, "print one JSON message per line, as pages arrive")
	cmd.MarkFlagsMutuallyExclusive("json", "jsonl")
	return cmd
}

// history prints a chat's messages as pages arrive, up to limit (0: all).
func history(ctx context.Context, e *env, s *session, prog *progress, chatID, from int64, limit int, asJSON, asJSONL bool) error {
	var msgs []chatclient.Message
	enc := json.NewEncoder(e.stdout)
	text := &transcript{w: e.stdout}
	done := func() bool { return limit > 0 && len(msgs) >= limit }
	for page, err := range s.client.MessagePages(ctx, s.business, chatID, from, chatclient.PageRequest{}) {
		prog.clear() // a quota wait's line, before the messages land under it
		if err != nil {
			return err
		}
		for _, m := range page.Messages {
			if done() {
				break
			}
			msgs = append(msgs, m)
			switch {
			case asJSONL:
				if err := enc.Encode(toMessageJSON(m)); err != nil {
					return err
				}
			case !asJSON:
				text.add(m)
			}
		}
		if done() {
			break
		}
	}
	switch {
	case asJSON:
		return printHistoryJSON(e.stdout, chatID, msgs)
	case !asJSONL:
		text.end()
	}
	return nil
}

func newMessageCommand(e *env, o *options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:               "message CHAT_ID MESSAGE_ID",
		Short:             "Show one message of a chat",
		Example:           "  ymchat chat message 5000003 1000002",
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeChatID(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			chatID, msgID, err := parseMessageRef(args)
			if err != nil {
				return err
			}
			prog := &progress{w: e.stderr, on: e.isTerminal(e.stderr)}
			defer prog.clear()
			return o.withClient(cmd, e, prog.waitHook, func(ctx context.Context, s *session) error {
				m, err := s.client.GetMessage(ctx, s.business, chatID, msgID)
				prog.clear()
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(e.stdout, toMessageJSON(m))
				}
				printMessage(e.stdout, m)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// maxStdinText is the most bytes read for a message from stdin: more than any valid
// message (4096 characters of at most 4 bytes), so a longer one is still caught.
const maxStdinText = 4*chatclient.MaxMessageLength + 1

func newSendCommand(e *env, o *options) *cobra.Command {
	var (
		text    string
		asJSON  bool
		landing time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send CHAT_ID [--message TEXT | --message -]",
		Short: "Send a text message to a chat as the seller",
		Long: `Send a text message (1 to 4096 characters, not only spaces) to a chat as the
seller. With --message - or no --message the text is read from stdin (one final
newline is dropped).

A message is sent at most once: when a send fails after it may have reached the
Market, ymchat waits --landing-window for it to land, then reads the chat's
history. Found there, it was sent; otherwise ymchat says what the history told
and exits 1, and nothing is sent again.`,
		Example: `  ymchat chat send 5000003 --message "Hello! Your order ships today."
  echo "Thank you" | ymchat chat send 5000003`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChatID(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			chatID, err := parseID("CHAT_ID", args[0])
			if err != nil {
				return err
			}
			name := "--message"
			if !cmd.Flags().Changed("message") || text == "-" {
				name = "--message (from stdin)"
				if e.isTerminal(e.stderr) {
					fmt.Fprintln(e.stderr, "Reading the message from stdin: type it, then press Ctrl-D on a line of its own (Ctrl-C cancels).")
				}
				b, err := io.ReadAll(io.LimitReader(e.stdin, maxStdinText))
				if err != nil {
					return usagef("%s: reading stdin: %v", name, err)
				}
				text = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
			}
			var ve *chatclient.ValidationError
			if err := chatclient.ValidateText(text); errors.As(err, &ve) {
				return usagef("invalid %s: %s (got %v)", name, ve.Rule, ve.Value)
			} else if err != nil {
				return usagef("invalid %s: %v", name, err)
			}
			return o.withClient(cmd, e, landingHook(e), func(ctx context.Context, s *session) error {
				if err := s.client.SendMessage(ctx, s.business, chatID, text); err != nil {
					return err
				}
				return ack(e, asJSON, chatID, "message")
			}, chatclient.WithLandingWindow(landing))
		},
	}
	cmd.Flags().StringVarP(&text, "message", "m", "", `the text to send ("-": read it from stdin)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON acknowledgement on stdout")
	landingFlag(cmd, &landing)
	return cmd
}

func newSendFileCommand(e *env, o *options) *cobra.Command {
	var (
		asJSON  bool
		landing time.Duration
	)
	cmd := &cobra.Command{
		Use:   "send-file CHAT_ID PATH",
		Short: "Send a file (at most 5 MiB) to a chat as the seller",
		Long: `Send a file to a chat as the seller. The customer sees the file's base name.
The file must exist, be a regular file, and hold 1 byte to 5 MiB; nothing is
sent otherwise. Like send, a file is sent at most once.`,
		Example: "  ymchat chat send-file 5000003 ./invoice.pdf",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			chatID, err := parseID("CHAT_ID", args[0])
			if err != nil {
				return err
			}
			path := args[1]
			f, err := openUpload(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return o.withClient(cmd, e, landingHook(e), func(ctx context.Context, s *session) error {
				if err := s.client.SendFile(ctx, s.business, chatID, filepath.Base(path), f); err != nil {
					return err
				}
				return ack(e, asJSON, chatID, "file "+filepath.Base(path))
			}, chatclient.WithLandingWindow(landing))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON acknowledgement on stdout")
	landingFlag(cmd, &landing)
	return cmd
}

// landingFlag is --landing-window, for the commands that send.
func landingFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "landing-window", chatclient.DefaultLandingWindow,
		"how long a send that failed may still land before the chat's history is read")
}

// openUpload opens a file to send, after checking it is a regular file of 1 byte to
// MaxFileSize; every failure is a usage error naming PATH.
func openUpload(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, usagef("PATH %s: %v", path, err)
	}
	fi, err := f.Stat()
	var why string
	switch {
	case err != nil:
		why = err.Error()
	case fi.IsDir():
		why = "is a directory, not a file"
	case !fi.Mode().IsRegular():
		why = "is not a regular file"
	case fi.Size() == 0:
		why = "is empty"
	case fi.Size() > chatclient.MaxFileSize:
		why = fmt.Sprintf("is %s, more than the Market's 5 MiB", byteSize(fi.Size()))
	default:
		return f, nil
	}
	f.Close()
	return nil, usagef("PATH %s %s; nothing sent", path, why)
}
