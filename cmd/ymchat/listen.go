package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient/notify"
)

type listenFlags struct {
	addr             string
	receiver         receiverFlags
	dedup            int
	shutdownDeadline time.Duration
}

const listenHelp = `Receive the Market's push notifications about chats and print each one as a
JSON line on stdout, for a pipe or a log. Nothing else goes to stdout; logs go
to stderr. A line (here wrapped) looks like

  {"type":"CHAT_MESSAGE_SENT","businessId":100,"chatId":5000003,
   "messageId":"1000321","time":"2026-11-22T09:00:00Z"}

type is CHAT_CREATED, CHAT_MESSAGE_SENT, CHAT_ARBITRAGE_STARTED or
CHAT_ARBITRAGE_FINISHED; messageId (CHAT_MESSAGE_SENT only) is the string the
Market sent, ready for "ymchat chat message CHAT_ID MESSAGE_ID"; time is when it
happened, in RFC 3339 UTC like every time in ymchat's JSON. PING checks are
answered and not printed; repeats are printed once.

Serving it to the Market:

  * The Market calls only over HTTPS, with a certificate signed by a public CA
    (not self-signed), on the URL set in the seller's cabinet (API settings,
    notifications), and appends /notification to it. ymchat answers at any path.
  * Usually run it on localhost behind a TLS-terminating reverse proxy (nginx,
    Caddy, a cloud load balancer) that forwards https://your.host/... to it:
        ymchat listen --addr 127.0.0.1:8080 --allow-ip market \
            --trusted-proxy 127.0.0.1/32
    --trusted-proxy names the proxy, so that the caller's address is read from
    X-Forwarded-For; without it --allow-ip would see only the proxy.
  * Or terminate TLS here with --tls-cert and --tls-key (the full chain).
  * --allow-ip market (or --market-only) accepts only the Market's published
    networks; others are answered 403. Give CIDRs (or addresses) to add yours.

SIGINT or SIGTERM stops it gracefully: notifications in flight get their answer,
then it exits 0.`

func newListenCommand(e *env) *cobra.Command {
	f := &listenFlags{}
	cmd := sessionless(&cobra.Command{
		Use:   "listen --addr HOST:PORT",
		Short: "Receive the Market's chat notifications and print them as JSON lines",
		Long:  listenHelp,
		Example: `  ymchat listen --addr 127.0.0.1:8080 --market-only --trusted-proxy 127.0.0.1/32
  ymchat listen --addr :443 --tls-cert chain.pem --tls-key key.pem --market-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return listen(cmd.Context(), e, f) },
	})
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT; port 0 picks a free one)")
	fl.IntVar(&f.dedup, "dedup", 10_000, "remember this many notifications to print repeats once (0: off)")
	fl.DurationVar(&f.shutdownDeadline, "shutdown-timeout", 15*time.Second, "on a signal, wait this long for notifications in flight")
	f.receiver.define(cmd)
	return cmd
}

func listen(ctx context.Context, e *env, f *listenFlags) error {
	if f.dedup < 0 {
		return usagef("invalid --dedup %d: must not be negative", f.dedup)
	}
	rcv, err := f.receiver.build()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))

	lines := newJSONLines(e.stdout)
	print := func(l notificationLine) error { return lines.write(l) }
	ts := formatJSONTime
	opts := []notify.Option{
		notify.OnChatCreated(func(_ context.Context, n notify.ChatCreated) error {
			return print(notificationLine{notify.TypeChatCreated, n.BusinessID, n.ChatID, "", ts(n.CreatedAt)})
		}),
		notify.OnChatMessageSent(func(_ context.Context, n notify.ChatMessageSent) error {
			return print(notificationLine{notify.TypeChatMessageSent, n.BusinessID, n.ChatID, n.MessageID.String(), ts(n.SentAt)})
		}),
		notify.OnChatArbitrageStarted(func(_ context.Context, n notify.ChatArbitrageStarted) error {
			return print(notificationLine{notify.TypeChatArbitrageStarted, n.BusinessID, n.ChatID, "", ts(n.StartedAt)})
		}),
		notify.OnChatArbitrageFinished(func(_ context.Context, n notify.ChatArbitrageFinished) error {
			return print(notificationLine{notify.TypeChatArbitrageFinished, n.BusinessID, n.ChatID, "", ts(n.FinishedAt)})
		}),
		notify.WithDedup(f.dedup),
		notify.WithLogger(logger),
	}
	h, err := notify.NewHandler(append(opts, rcv.options...)...)
	if err != nil {
		return usageError{err.Error()}
	}

	err = serveHTTP(ctx, e, logger, "--addr", f.addr, rcv.tls, h, f.shutdownDeadline, rcv.started(logger))
	if err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}
