package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
	"github.com/ymchat/ymchat/chatclient/inbox/boltstore"
	"github.com/ymchat/ymchat/chatclient/notify"
	"github.com/ymchat/ymchat/chatclient/redislimit"
)

func newDemoCommand(e *env, o *options) *cobra.Command {
	cmd := sessionless(&cobra.Command{
		Use:   "demo",
		Short: "Walk through the library against a built-in fake Market (no account needed)",
		Long: `Start a fake Yandex Market in-process (package chattest, with its shipped data)
and walk through what the library does: list the chats waiting for the seller,
read the one waiting longest and answer it, start a chat about an order, receive
a customer's message as a push notification and answer that, see a sticker (which
no push announces) reach an inbox through its sweep, see a server error
absorbed and a spent hourly quota turned into an error (or waited out), and
finally let two services send bursts at once: a naive hand-written client, then
the library with separate limits, and, given a Redis with --redis URL (or
YM_REDIS_URL), the library sharing them through it.

Ctrl-C ends it with one line, "demo interrupted" (exit 130).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := demoRedis(cmd, e, o); err != nil {
				return err
			}
			err := runDemo(cmd.Context(), e, o.redisOpts)
			if err != nil && cmd.Context().Err() != nil {
				fmt.Fprintln(e.stderr, "demo interrupted")
			}
			return err
		},
	})
	// Its own --redis, so that the demo's help lists it (a sessionless command's help
	// hides the root's flags); it stands in for the root's --redis here.
	cmd.Flags().Var(stringValue{new(string), "URL"}, "redis", "also share the burst's limits through this Redis (redis://host:port/db) [$YM_REDIS_URL]")
	return cmd
}

// demoRedis reads the Redis the demo shares limits through into o: --redis, else
// YM_REDIS_URL. A profile's Redis is left alone, since the demo needs no config and
// may put its keys only in a Redis the user names for it. The demo embeds no Redis:
// one (miniredis, with its Lua VM) would be most of what the first build compiles
// beyond the library and the CLI.
func demoRedis(cmd *cobra.Command, e *env, o *options) error {
	if f := cmd.Flags().Lookup("redis"); f != nil && f.Changed {
		o.redisURL, o.redisFrom = f.Value.String(), "--redis"
	} else if v := strings.TrimSpace(e.getenv("YM_REDIS_URL")); v != "" {
		o.redisURL, o.redisFrom = v, "YM_REDIS_URL"
	}
	if err := o.parseRedis(); err != nil || o.redisOpts == nil {
		return err
	}
	// A Redis that does not answer would leave each service on limits of its own,
	// and the last step would show nothing shared: say so before the demo starts.
	opts := *o.redisOpts
	rdb := redis.NewClient(&opts)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("demo: %s: %w", o.redisSource(), err)
	}
	return nil
}

// Shipped-fixture facts of business 100 the demo relies on.
const (
	demoBusiness = 100
	demoOrder    = 10043070 // an order with no chat yet
	demoWidth    = 80       // no line of the demo is wider
)

// runDemo walks through the library; with rdbOpts its last step also shares the
// limits through that Redis.
func runDemo(ctx context.Context, e *env, rdbOpts *redis.Options) error {
	w := e.stdout
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	srv := chattest.NewServer(chattest.WithDefaultFixture())
	defer srv.Close()
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL))
	if err != nil {
		return err
	}

	say("ymchat demo: the library at work against a fake Yandex Market (package")
	say("chattest) started in-process at %s. No account needed.", srv.URL)
	say("")

	say("1. Chats waiting for your answer (business %d)", demoBusiness)
	var waiting []chatclient.Chat
	filter := chatclient.Filter{Statuses: []chatclient.ChatStatus{chatclient.StatusWaitingForPartner}}
	for chat, err := range client.Chats(ctx, demoBusiness, filter) {
		if err != nil {
			return err
		}
		waiting = append(waiting, chat)
	}
	if len(waiting) == 0 {
		return errors.New("demo: the fixture has no chat waiting for the seller")
	}
	slices.SortStableFunc(waiting, func(a, b chatclient.Chat) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	say("   %d chats, %d per page over %d pages; the 5 waiting longest:", len(waiting),
		chatclient.MaxPageSize, len(srv.Requests()))
	say("")
	waitingTable(indent(w), waiting[:min(5, len(waiting))], e.now())
	say("")

	// The chat opened is the table's first row. A chat can be opened and hold no
	// message yet (on a real account too): then the next one is read, and the
	// skip is said.
	say("2. Reading the conversation of the chat waiting longest")
	var (
		chat    chatclient.Chat
		history []chatclient.Message
		empty   int
	)
	for _, c := range waiting {
		history = history[:0]
		for m, err := range client.Messages(ctx, demoBusiness, c.ID, 0) {
			if err != nil {
				return err
			}
			history = append(history, m)
		}
		if len(history) > 0 {
			chat = c
			break
		}
		empty++
	}
	if len(history) == 0 {
		return errors.New("demo: no waiting chat has messages")
	}
	if empty > 0 {
		say("   (the %d chats waiting longer hold no messages yet: skipped)", empty)
	}
	say("   chat %d, %s, %s: %d messages; the last %d:", chat.ID, contextText(chat.Context),
		chat.Context.Customer.Name, len(history), min(3, len(history)))
	say("")
	for _, m := range history[max(0, len(history)-3):] {
		wrappedMessage(w, m, demoWidth)
	}
	say("")

	say("3. Answering it with SendMessage")
	const answer = "Здравствуйте! Отправим замену сегодня, трек-номер пришлём."
	before, err := client.GetChat(ctx, demoBusiness, chat.ID)
	if err != nil {
		return err
	}
	if err := client.SendMessage(ctx, demoBusiness, chat.ID, answer); err != nil {
		return err
	}
	after, err := client.GetChat(ctx, demoBusiness, chat.ID)
	if err != nil {
		return err
	}
	say("   sent: %q", answer)
	say("   chat %d: %s → %s", chat.ID, before.Status, after.Status)
	say("")

	say("4. Starting a chat about order %d", demoOrder)
	id, err := client.CreateChat(ctx, demoBusiness, chatclient.Order(demoOrder))
	if err != nil {
		return err
	}
	again, err := client.CreateChat(ctx, demoBusiness, chatclient.Order(demoOrder))
	if err != nil {
		return err
	}
	say("   chat %d started. Asked again, chat %d came back: the same one.", id, again)
	say("   createChat is safe to retry.")
	say("")

	if err := demoNotifications(ctx, say, srv, client, chat.ID); err != nil {
		return err
	}
	say("")
	if err := demoInbox(ctx, say, srv, client, chat.ID); err != nil {
		return err
	}
	say("")
	if err := demoServerError(ctx, say, srv, chat.ID); err != nil {
		return err
	}
	say("")
	if err := demoSpentQuota(ctx, say, srv, chat.ID); err != nil {
		return err
	}
	say("")
	if err := demoSharedLimits(ctx, e, say, srv, waiting, rdbOpts); err != nil {
		return err
	}
	say("")
	say("Next: point it at your account with YM_API_KEY and --business, e.g.")
	say("   ymchat chats --status %s", chatclient.StatusWaitingForPartner)
	say("   ymchat chat history CHAT_ID; ymchat chat send CHAT_ID -m TEXT")
	say("and see the godoc of package chatclient to use it from Go.")
	return nil
}

// demoNotifications closes the loop: the fake Market posts CHAT_MESSAGE_SENT to a
// notify.Handler, which hands the message id to the client to fetch and answer.
func demoNotifications(ctx context.Context, say func(string, ...any), srv *chattest.Server, client *chatclient.Client, chatID int64) error {
	say("5. A customer writes; the Market notifies; the client answers")
	arrived := make(chan notify.ChatMessageSent, 1)
	h, err := notify.NewHandler(
		notify.OnChatMessageSent(func(_ context.Context, n notify.ChatMessageSent) error {
			select {
			case arrived <- n:
			default:
			}
			return nil
		}),
		notify.WithLogger(slog.New(slog.DiscardHandler)),
	)
	if err != nil {
		return err
	}
	receiver := httptest.NewServer(h)
	defer receiver.Close()
	if err := srv.RegisterReceiver(receiver.URL + "/notification"); err != nil {
		return err
	}
	say("   a notify.Handler serves %s/notification;", receiver.URL)
	say("   the fake Market registered it (the handler answered its PING 200).")
	const question = "А можно поменять адрес доставки?"
	if _, err := srv.CustomerWrites(demoBusiness, chatID, question); err != nil {
		return err
	}
	say("   The customer writes in chat %d:", chatID)
	say("     %q", question)
	var n notify.ChatMessageSent
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
	select {
	case n = <-arrived:
	case <-wait.C:
		return errors.New("demo: no CHAT_MESSAGE_SENT notification arrived")
	case <-ctx.Done():
		return ctx.Err()
	}
	say("   CHAT_MESSAGE_SENT arrived: chat %d, messageId %q", n.ChatID, n.MessageID.String())
	msgID, err := n.MessageID.Int64()
	if err != nil {
		return err
	}
	m, err := client.GetMessage(ctx, n.BusinessID, n.ChatID, msgID)
	if err != nil {
		return err
	}
	say("   GetMessage(%d, %d) fetched it: %s wrote", n.ChatID, msgID, m.Sender)
	say("     %q", m.Text)
	const reply = "Да, конечно: напишите новый адрес, мы его поменяем."
	if err := client.SendMessage(ctx, n.BusinessID, n.ChatID, reply); err != nil {
		return err
	}
	c, err := client.GetChat(ctx, n.BusinessID, n.ChatID)
	if err != nil {
		return err
	}
	say("   SendMessage answered it:")
	say("     %q", reply)
	say("   chat %d: %s → %s again.", c.ID, chatclient.StatusWaitingForPartner, c.Status)
	return nil
}

// demoInbox shows package inbox's safety net: a sticker, which no push announces,
// reaches the handler through the sweep, and a restart on the same store hands
// over nothing twice.
func demoInbox(ctx context.Context, say func(string, ...any), srv *chattest.Server, client *chatclient.Client, chatID int64) error {
	say("6. A sticker no push announces; a restart that repeats nothing")
	dir, err := os.MkdirTemp("", "ymchat-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	state := filepath.Join(dir, "inbox.db")
	var events []inbox.Event
	// runOnce makes one pass of an inbox on the store in state, as a process that is
	// started, sweeps and stops would.
	runOnce := func() error {
		events = events[:0]
		store, err := boltstore.Open(state)
		if err != nil {
			return err
		}
		defer store.Close()
		ib, err := inbox.New(client, demoBusiness, store, func(_ context.Context, e inbox.Event) error {
			events = append(events, e) // one chat at a time: see inbox.WithWorkers
			return nil
		}, inbox.WithWorkers(1))
		if err != nil {
			return err
		}
		rep, err := ib.Once(ctx)
		if err == nil && len(rep.HeldBack) > 0 {
			err = fmt.Errorf("demo: the inbox held back %d chats", len(rep.HeldBack))
		}
		return err
	}
	if err := runOnce(); err != nil {
		return err
	}
	chats := map[int64]bool{}
	for _, e := range events {
		chats[e.ChatID] = true
	}
	say("   An inbox (package inbox, state in a bbolt file) swept the chats: its")
	say("   handler got %d events of %d chats, every history. Then it stopped.", len(events), len(chats))
	sticker, err := srv.CustomerSendsSticker(demoBusiness, chatID)
	if err != nil {
		return err
	}
	say("   The customer sends a sticker in chat %d: the Market pushes nothing.", chatID)
	if err := runOnce(); err != nil {
		return err
	}
	say("   Restarted on the same file, the sweep handed over only what is new:")
	for _, e := range events {
		if e.Kind == inbox.NewMessage {
			say("     %s chat %d #%d from %s, no text: the sticker", e.Kind, e.ChatID, e.Message.ID, e.Message.Sender)
		} else {
			say("     %s chat %d: %s → %s", e.Kind, e.ChatID, e.OldStatus, e.Chat.Status)
		}
	}
	if len(events) == 0 || events[0].Kind != inbox.NewMessage || events[0].Message.ID != sticker {
		return errors.New("demo: the sweep did not hand over the sticker")
	}
	say("   and nothing of the first run again.")
	return nil
}

// demoServerError shows a 503 absorbed by a retry.
func demoServerError(ctx context.Context, say func(string, ...any), srv *chattest.Server, chatID int64) error {
	say("7. The Market fails once (HTTP 503)")
	var retries []chatclient.RetryInfo
	client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL),
		chatclient.WithRetryHook(func(i chatclient.RetryInfo) { retries = append(retries, i) }))
	if err != nil {
		return err
	}
	srv.Script(string(chatclient.OpGetChat), chattest.StatusFault(503, "UNAVAILABLE", "try again later"))
	c, err := client.GetChat(ctx, demoBusiness, chatID)
	if err != nil {
		return err
	}
	say("   GetChat(%d) got a 503 first; the client waited and retried:", c.ID)
	say("   %d retry, answered (status %s). The caller saw no error.", len(retries), c.Status)
	return nil
}

// demoSpentQuota shows a spent hourly quota: an error naming the reset time with no
// budget to wait, and the same call waiting it out with one.
func demoSpentQuota(ctx context.Context, say func(string, ...any), srv *chattest.Server, chatID int64) error {
	say("8. The hourly quota of %s is spent (1000 calls); it resets in 2 s", chatclient.OpGetChat)
	for _, maxWait := range []time.Duration{0, 5 * time.Second} {
		client, err := chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL),
			chatclient.WithMaxWait(maxWait))
		if err != nil {
			return err
		}
		srv.Script(string(chatclient.OpGetChat), chattest.SpentQuota(1000, time.Now().Add(2*time.Second)))
		start := time.Now()
		_, err = client.GetChat(ctx, demoBusiness, chatID)
		var rle *chatclient.RateLimitError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case maxWait == 0 && errors.As(err, &rle):
			say("   WithMaxWait(0), no time to wait: GetChat returns a *RateLimitError")
			for _, line := range wrap(rle.Error(), demoWidth-6) {
				say("     %s", line)
			}
			say("   RetryAfter %s: how long until the quota resets.", rle.RetryAfter.Round(100*time.Millisecond))
		case maxWait == 0:
			return fmt.Errorf("demo: a spent quota gave %v, not a *RateLimitError", err)
		case err != nil:
			return err
		default:
			say("   WithMaxWait(5s), a budget that covers the reset: the same call waited")
			say("   %s for it and then succeeded.", time.Since(start).Round(100*time.Millisecond))
		}
	}
	return nil
}

// demoSharedLimits runs the same burst from two services: a naive hand-written
// client, then the library with limits of its own in each, and, with rdbOpts, the
// library sharing them through that Redis.
func demoSharedLimits(ctx context.Context, e *env, say func(string, ...any), srv *chattest.Server, chats []chatclient.Chat, rdbOpts *redis.Options) error {
	const requests = 48
	say("9. Two services of the seller, one business: each sends %d %s calls", requests, chatclient.OpGetChat)
	say("   at once. The Market serves 4 requests of a business at a time and")
	if rdbOpts != nil {
		say("   answers the others 420. Three runs on the same fake Market, one after")
	} else {
		say("   answers the others 420. Two runs on the same fake Market, one after")
	}
	say("   the other: a naive hand-written client (on a 420 it sleeps 1 s and")
	say("   tries again, %d tries at most, no limit on requests in flight), then", naiveTries)
	if rdbOpts != nil {
		say("   the library in each service, then the library sharing limits in Redis.")
	} else {
		say("   the library in each service.")
	}

	// Each run's keys apart from a fleet's (redislimit.DefaultPrefix) and from
	// another demo's, in a Redis that may be in use.
	var tag [4]byte
	_, _ = crand.Read(tag[:])
	prefix := "ymchat:demo:" + hex.EncodeToString(tag[:]) + ":"
	shared := func() (chatclient.Option, func(), error) {
		// Each service has its own Redis client and Limiter, as two processes would.
		opts := *rdbOpts
		rdb := redis.NewClient(&opts)
		// A Redis on a busy machine may be slow: wait for it rather than fall back
		// to limits of its own (the default op timeout is 200 ms).
		lim, err := redislimit.New(rdb, redislimit.WithPrefix(prefix), redislimit.WithOpTimeout(5*time.Second),
			redislimit.WithLogger(slog.New(slog.NewTextHandler(
				untilDone{ctx.Done(), e.stderr}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
		if err != nil {
			_ = rdb.Close()
			return nil, nil, err
		}
		return chatclient.WithLimits(lim), func() { _ = lim.Close(); _ = rdb.Close() }, nil
	}
	runs := []bool{false}
	if rdbOpts != nil {
		runs = append(runs, true)
	}
	results := make([]burstResult, 1, 1+len(runs))
	results[0] = burst(ctx, srv, []getChatFunc{naiveGetChat(srv), naiveGetChat(srv)}, requests, chats)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, useRedis := range runs {
		var services []getChatFunc
		for range 2 {
			// More attempts than the default 5: unshared, a call may meet the parallel
			// limit several times over on a busy machine, and the demo counts refusals
			// rather than failures.
			opts := []chatclient.Option{chatclient.WithBaseURL(srv.URL),
				chatclient.WithRetryPolicy(chatclient.RetryPolicy{MaxAttempts: 12})}
			if useRedis {
				limits, done, err := shared()
				if err != nil {
					return err
				}
				defer done()
				opts = append(opts, limits)
			}
			c, err := chatclient.New(chatclient.APIKey(srv.Token), opts...)
			if err != nil {
				return err
			}
			services = append(services, libraryGetChat(c))
		}
		results = append(results, burst(ctx, srv, services, requests, chats))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	say("")
	row := func(name string, count func(burstResult) int) {
		line := fmt.Sprintf("   %-28s %7d %9d", name, count(results[0]), count(results[1]))
		if len(results) > 2 {
			line += fmt.Sprintf(" %15d", count(results[2]))
		}
		say("%s", line)
	}
	header := fmt.Sprintf("   %-28s %7s %9s", "", "naive", "library")
	if len(results) > 2 {
		header += fmt.Sprintf(" %15s", "library+Redis")
	}
	say("%s", header)
	row("refused 420 (parallel limit)", func(r burstResult) int { return r.refused })
	row("answered", func(r burstResult) int { return r.answered })
	row("failed", func(r burstResult) int { return len(r.failed) })
	say("")
	say("   refused counts the Market's 420 answers; answered and failed count")
	say("   calls (of %d). naive: all go at once, 4 get through, the rest sleep 1 s", 2*requests)
	say("   together and collide again; after %d tries the rest fail.", naiveTries)
	say("   library: each client keeps its own 4 in flight, so together they send")
	say("   up to 8 at once, the Market refuses what is over 4, and the client")
	say("   backs off (with jitter) and retries until each call is answered.")
	if rdbOpts != nil {
		say("   library+Redis: both take their 4 leases from the same Redis, so never")
		say("   more than 4 are in flight and the Market has nothing to refuse.")
	} else {
		say("   With a Redis they share the 4 and none is refused: ymchat demo --redis URL")
	}
	var failed []error // the library's: the naive client's are the story
	for _, r := range results[1:] {
		failed = append(failed, r.failed...)
	}
	for _, err := range failed {
		say("   failed: %v", err)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of the bursts' requests failed", len(failed))
	}
	return nil
}

// burstResult is what a burst came to: calls answered and failed, and the 420s the
// Market answered on the way.
type burstResult struct {
	answered, refused int
	failed            []error
}

// getChatFunc is getChat as one service calls it, nil once answered.
type getChatFunc func(ctx context.Context, chatID int64) error

// burst sends n getChat calls at once from each service and counts the 420s the fake
// answered (with the documented hourly quotas, every 420 here is the parallel limit).
func burst(ctx context.Context, srv *chattest.Server, services []getChatFunc, n int, chats []chatclient.Chat) burstResult {
	for range n * len(services) {
		srv.Script(string(chatclient.OpGetChat), chattest.Delay(15*time.Millisecond)) // slow answers, so requests overlap
	}
	srv.ResetRequests()
	var (
		res burstResult
		wg  sync.WaitGroup
		mu  sync.Mutex
	)
	for _, getChat := range services {
		for i := range n {
			wg.Go(func() {
				err := getChat(ctx, chats[i%len(chats)].ID)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.failed = append(res.failed, err)
				} else {
					res.answered++
				}
			})
		}
	}
	wg.Wait()
	for _, r := range srv.Requests() {
		if r.Status == 420 {
			res.refused++
		}
	}
	return res
}

// libraryGetChat is getChat through the library's client.
func libraryGetChat(c *chatclient.Client) getChatFunc {
	return func(ctx context.Context, chatID int64) error {
		_, err := c.GetChat(ctx, demoBusiness, chatID)
		return err
	}
}

// naiveTries is how often the naive client tries a call.
const naiveTries = 3

// naiveGetChat is getChat from a hand-written client: a plain HTTP GET, a fixed 1 s
// sleep on a 420, naiveTries tries, no limit on requests in flight.
func naiveGetChat(srv *chattest.Server) getChatFunc {
	return func(ctx context.Context, chatID int64) error {
		for try := range naiveTries {
			if try > 0 {
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			url := fmt.Sprintf("%s/v2/businesses/%d/chat?chatId=%d", srv.URL, demoBusiness, chatID)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			req.Header.Set("Api-Key", srv.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusOK:
				return nil
			case 420:
				continue
			default:
				return fmt.Errorf("getChat %d: HTTP %d", chatID, resp.StatusCode)
			}
		}
		return fmt.Errorf("getChat %d: refused %d times, given up", chatID, naiveTries)
	}
}

// untilDone writes to w until done is closed, and then drops what comes: an
// interrupted demo says so once, not once per call cut short.
type untilDone struct {
	done <-chan struct{}
	w    io.Writer
}

func (u untilDone) Write(p []byte) (int, error) {
	select {
	case <-u.done:
		return len(p), nil
	default:
		return u.w.Write(p)
	}
}
