package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

func newDemoCommand(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Walk through the library against a built-in fake Market (no account needed)",
		Long: `Start a fake Yandex Market in-process (package chattest, with its shipped data) and
walk through what the library does: list the chats waiting for the seller, open one,
start a chat about an order (twice, to show the same chat comes back), then send a
burst of parallel requests that hits the Market's limits and watch the client absorb it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runDemo(cmd.Context(), e) },
	}
}

// demoOrder is an order of business 100 in the shipped fixture that has no chat yet.
const demoOrder = 10043070

func runDemo(ctx context.Context, e *env) error {
	w := e.stdout
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }

	const business = 100
	// The fake keeps real time: the burst waits out real one-second quota windows.
	srv := chattest.NewServer(chattest.WithDefaultFixture(),
		chattest.WithQuota("getChat", chattest.Quota{Limit: 30, Window: time.Second}))
	defer srv.Close()

	var mu sync.Mutex
	waits := map[chatclient.WaitReason]int{}
	hook := func(info chatclient.RetryInfo) {
		mu.Lock()
		defer mu.Unlock()
		waits[info.Reason]++
	}
	newClient := func() (*chatclient.Client, error) {
		return chatclient.New(chatclient.APIKey(srv.Token), chatclient.WithBaseURL(srv.URL), chatclient.WithRetryHook(hook))
	}
	client, err := newClient()
	if err != nil {
		return err
	}

	say("ymchat demo: the library at work against a fake Yandex Market (package chattest),")
	say("started in-process at %s. No account needed.", srv.URL)
	say("")

	say("1. Chats waiting for your answer (business %d)", business)
	var waiting []chatclient.Chat
	filter := chatclient.Filter{Statuses: []api.ChatStatus{api.ChatStatusWaitingForPartner}}
	for chat, err := range client.Chats(ctx, business, filter) {
		if err != nil {
			return err
		}
		waiting = append(waiting, chat)
	}
	slices.SortStableFunc(waiting, func(a, b chatclient.Chat) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	say("   %d chats, fetched %d per page over %d pages; the 5 waiting longest:", len(waiting), chatclient.MaxPageSize, len(srv.Requests()))
	say("")
	writeTable(indent(w), waiting[:min(5, len(waiting))], e.now())
	say("")

	say("2. Opening chat %d, the one waiting longest", waiting[0].ID)
	chat, err := client.GetChat(ctx, business, waiting[0].ID)
	if err != nil {
		return err
	}
	say("")
	printChat(&env{stdout: indent(w), now: e.now}, chat)
	say("")

	say("3. Starting a chat about order %d", demoOrder)
	id, err := client.CreateChat(ctx, business, chatclient.Order(demoOrder))
	if err != nil {
		return err
	}
	say("   chat %d started.", id)
	again, err := client.CreateChat(ctx, business, chatclient.Order(demoOrder))
	if err != nil {
		return err
	}
	say("   Asked again: chat %d came back, the same one. createChat is safe to retry.", again)
	say("")

	say("4. A burst of requests, under the Market's limits")
	say("   The Market serves 4 requests of a business at a time and answers the rest 420;")
	say("   this fake also allows only 30 getChat calls a second (the Market: 1,000 an hour).")
	var failed []error
	for _, services := range []int{1, 2} {
		const requests = 48
		if services == 1 {
			say("   a) One service sends %d requests at once from %d goroutines:", requests, requests)
		} else {
			say("   b) Two services of the seller (two clients, as in two processes) do the same together:")
		}
		b, err := burst(ctx, srv, newClient, services, requests, waiting)
		if err != nil {
			return err
		}
		mu.Lock()
		parallel, quota := waits[chatclient.WaitParallelLimit], waits[chatclient.WaitQuotaReset]+waits[chatclient.WaitQuotaPacing]
		clear(waits)
		mu.Unlock()
		say("      %d answered in %s, %d failed. The Market refused %d with 420.", requests-len(b.failed), b.took.Round(10*time.Millisecond), len(b.failed), b.refused)
		if services == 1 {
			say("      The client kept 4 in flight and queued the rest, so nothing hit the parallel limit;")
		} else {
			say("      Two clients keeping 4 each offer 8 at once: %d refusals for the parallel limit. Each", parallel)
			say("      refused request kept its place while it backed off, so each client sent fewer at once;")
		}
		say("      it waited %d times for the quota to reset rather than fail.", quota)
		failed = append(failed, b.failed...)
	}
	for _, err := range failed {
		say("   failed: %v", err)
	}
	say("")
	say("Next: point it at your account with YM_API_KEY and --business, e.g.")
	say("   ymchat chats --status WAITING_FOR_PARTNER")
	say("and see the library's godoc (package chatclient) to use it from Go.")
	if len(failed) > 0 {
		return fmt.Errorf("%d of the burst's requests failed", len(failed))
	}
	return nil
}

type burstResult struct {
	took    time.Duration
	refused int
	failed  []error
}

// burst sends n getChat calls at once, spread over the given number of clients.
func burst(ctx context.Context, srv *chattest.Server, newClient func() (*chatclient.Client, error), clients, n int, chats []chatclient.Chat) (burstResult, error) {
	for range n {
		srv.Script("getChat", chattest.Delay(15*time.Millisecond)) // slow answers, so requests overlap
	}
	srv.ResetRequests()
	var (
		res burstResult
		wg  sync.WaitGroup
		mu  sync.Mutex
	)
	start := time.Now()
	for k := range clients {
		c, err := newClient()
		if err != nil {
			return res, err
		}
		for i := k; i < n; i += clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.GetChat(ctx, 100, chats[i%len(chats)].ID); err != nil {
					mu.Lock()
					res.failed = append(res.failed, err)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	res.took = time.Since(start)
	for _, r := range srv.Requests() {
		if r.Status == 420 {
			res.refused++
		}
	}
	return res, nil
}

// indent writes each line three spaces in.
func indent(w io.Writer) io.Writer { return &indenter{w: w} }

type indenter struct {
	w   io.Writer
	mid bool // inside a line
}

// Write indents each new line.
func (i *indenter) Write(p []byte) (int, error) {
	var out []byte
	for _, b := range p {
		if !i.mid {
			out = append(out, "   "...)
		}
		out = append(out, b)
		i.mid = b != '\n'
	}
	if _, err := i.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
