// Package bench measures chatclient against hand-written baselines in the same run:
// per-call overhead, iterating every chat, and quota efficiency under the Market's
// limits. The benchmarks are in bench_test.go (make bench); command benchsummary
// writes BENCHMARKS.md from their output and, with -check, fails when a goal is missed
// (make bench-check).
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
)

const token = "bench-token"

// Canned answers of the overhead server, shaped like the Market's.
var (
	chatBody   = []byte(`{"status":"OK","result":{"chatId":5000003,"orderId":10043001,"context":{"type":"ORDER","customer":{"name":"Tatiana B.","publicId":"0f0944fe0c"},"campaignId":21000002,"orderId":10043001},"type":"CHAT","status":"WAITING_FOR_PARTNER","createdAt":"2026-10-23T11:58:29+03:00","updatedAt":"2026-10-23T16:36:55+03:00"}}`)
	createBody = []byte(`{"status":"OK","result":{"chatId":5000188}}`)
	pageBody   = func() []byte {
		var b bytes.Buffer
		b.WriteString(`{"status":"OK","result":{"chats":[`)
		for i := range 20 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"chatId":%d,"orderId":%d,"context":{"type":"ORDER","customer":{"name":"Tatiana B.","publicId":"0f0944fe0c"},"campaignId":21000002,"orderId":%d},"type":"CHAT","status":"WAITING_FOR_PARTNER","createdAt":"2026-10-23T11:58:29+03:00","updatedAt":"2026-10-23T16:36:55+03:00"}`, 5000001+i, 10043001+i, 10043001+i)
		}
		b.WriteString(`],"paging":{"nextPageToken":"eyJ2IjoxfQ"}}}`)
		return b.Bytes()
	}()
)

// OverheadServer answers every operation at once with a canned body and the Market's
// rate-limit headers, so that a benchmark measures the client, not the server.
func OverheadServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("X-RateLimit-Resource-Limit", "1000000")
		h.Set("X-RateLimit-Resource-Remaining", "999999")
		h.Set("X-RateLimit-Resource-Until", time.Now().UTC().Add(time.Hour).Truncate(time.Hour).Format(http.TimeFormat))
		switch {
		case r.Method == http.MethodGet:
			_, _ = w.Write(chatBody)
		case len(r.URL.Path) > 4 && r.URL.Path[len(r.URL.Path)-4:] == "/new":
			_, _ = w.Write(createBody)
		default:
			_, _ = w.Write(pageBody)
		}
	}))
}

// transport returns an HTTP client with enough idle connections for the benchmarks.
func transport() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// NewClient returns a chatclient for the server at url.
func NewClient(tb testing.TB, url string, opts ...chatclient.Option) *chatclient.Client {
	c, err := chatclient.New(chatclient.APIKey(token), append([]chatclient.Option{chatclient.WithBaseURL(url), chatclient.WithHTTPClient(transport())}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Baseline is the minimal hand-written client: net/http and encoding/json, no
// validation, retries or limits.
type Baseline struct {
	// HC sends the requests.
	HC *http.Client
	// Base is the server's base URL.
	Base string
}

func (b Baseline) do(ctx context.Context, method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Api-Key", token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.HC.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
}

// The baseline's own types: plain structs with no optional pointers, the least a
// hand-written client decodes the Market's answers into (the honest floor).
type (
	plainCustomer struct {
		Name     string `json:"name"`
		PublicID string `json:"publicId"`
	}
	plainContext struct {
		Type       string        `json:"type"`
		Customer   plainCustomer `json:"customer"`
		CampaignID int64         `json:"campaignId"`
		OrderID    int64         `json:"orderId"`
		ReturnID   int64         `json:"returnId"`
	}
	// PlainChat is a chat as the baseline decodes it.
	PlainChat struct {
		ChatID    int64        `json:"chatId"`
		OrderID   int64        `json:"orderId"`
		Context   plainContext `json:"context"`
		Type      string       `json:"type"`
		Status    string       `json:"status"`
		CreatedAt time.Time    `json:"createdAt"`
		UpdatedAt time.Time    `json:"updatedAt"`
	}
	// PlainPage is a page of chats as the baseline decodes it.
	PlainPage struct {
		Chats  []PlainChat `json:"chats"`
		Paging struct {
			NextPageToken string `json:"nextPageToken"`
		} `json:"paging"`
	}
	plainSubject struct {
		Type string `json:"type"`
		ID   int64  `json:"id"`
	}
	// PlainFilter is the getChats body as the baseline sends it.
	PlainFilter struct {
		Statuses []string `json:"statuses,omitempty"`
	}
)

// CreateChat is createChat by hand.
func (b Baseline) CreateChat(ctx context.Context, business, order int64) (int64, error) {
	var env struct {
		Result struct {
			ChatID int64 `json:"chatId"`
		} `json:"result"`
	}
	body := struct {
		Context plainSubject `json:"context"`
	}{plainSubject{"ORDER", order}}
	_, err := b.do(ctx, http.MethodPost, b.Base+"/v2/businesses/"+strconv.FormatInt(business, 10)+"/chats/new", body, &env)
	if err != nil || env.Result.ChatID == 0 {
		return 0, fmt.Errorf("createChat: %v", err)
	}
	return env.Result.ChatID, nil
}

// GetChat is getChat by hand.
func (b Baseline) GetChat(ctx context.Context, business, chatID int64) (PlainChat, error) {
	var env struct {
		Result PlainChat `json:"result"`
	}
	_, err := b.do(ctx, http.MethodGet, b.Base+"/v2/businesses/"+strconv.FormatInt(business, 10)+"/chat?chatId="+strconv.FormatInt(chatID, 10), nil, &env)
	if err != nil || env.Result.ChatID == 0 {
		return PlainChat{}, fmt.Errorf("getChat: %v", err)
	}
	return env.Result, nil
}

// GetChats is one getChats page by hand; status is the HTTP status.
func (b Baseline) GetChats(ctx context.Context, business int64, filter PlainFilter, limit int, pageToken string) (*PlainPage, int, error) {
	url := b.Base + "/v2/businesses/" + strconv.FormatInt(business, 10) + "/chats?limit=" + strconv.Itoa(limit)
	if pageToken != "" {
		url += "&page_token=" + pageToken
	}
	var env struct {
		Result *PlainPage `json:"result"`
	}
	status, err := b.do(ctx, http.MethodPost, url, filter, &env)
	if err != nil || env.Result == nil {
		return nil, status, fmt.Errorf("getChats: %v", err)
	}
	return env.Result, status, nil
}

// Overhead runs one operation per iteration through chatclient or the baseline.
func Overhead(b *testing.B, op string, viaClient bool) {
	srv := OverheadServer()
	defer srv.Close()
	ctx := context.Background()
	client := NewClient(b, srv.URL)
	base := Baseline{HC: transport(), Base: srv.URL}
	filter := chatclient.Filter{Statuses: []chatclient.ChatStatus{chatclient.StatusWaitingForPartner}}
	raw := PlainFilter{Statuses: []string{"WAITING_FOR_PARTNER"}}
	call := map[string]func() error{
		"createChat/chatclient": func() error { _, err := client.CreateChat(ctx, 100, chatclient.Order(10043070)); return err },
		"createChat/baseline":   func() error { _, err := base.CreateChat(ctx, 100, 10043070); return err },
		"getChat/chatclient":    func() error { _, err := client.GetChat(ctx, 100, 5000003); return err },
		"getChat/baseline":      func() error { _, err := base.GetChat(ctx, 100, 5000003); return err },
		"getChats/chatclient": func() error {
			_, err := client.ListChats(ctx, 100, filter, chatclient.PageRequest{Limit: 20, Token: "eyJ2IjoxfQ"})
			return err
		},
		"getChats/baseline": func() error { _, _, err := base.GetChats(ctx, 100, raw, 20, "eyJ2IjoxfQ"); return err },
	}
	name := op + "/baseline"
	if viaClient {
		name = op + "/chatclient"
	}
	f := call[name]
	if err := f(); err != nil { // warm the connection
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
}

// IterationServer serves n chats of business 100 from chattest, with no quota.
func IterationServer(n int) *chattest.Server {
	chats := make([]api.Chat, n)
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for i := range chats {
		order := int64(20000000 + i)
		chats[i] = api.Chat{ChatID: int64(1 + i), Type: api.ChatTypeChat, Status: api.ChatStatusWaitingForPartner,
			Context:   api.ChatFullContext{Type: api.ChatContextTypeOrder, OrderID: order},
			CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0.Add(time.Duration(i) * time.Minute)}
	}
	return chattest.NewServer(chattest.WithToken(token), chattest.WithChats(100, chats...),
		chattest.WithQuota("getChats", chattest.Quota{}), chattest.WithRequestLog(0))
}

// heapSampler records the peak live heap above a starting point, sampling after a
// forced collection every few pages.
type heapSampler struct {
	start, peak uint64
	every, n    int
}

func newHeapSampler(every int) *heapSampler {
	s := &heapSampler{every: every}
	s.start = liveHeap()
	return s
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func (s *heapSampler) page() {
	if s == nil {
		return
	}
	s.n++
	if s.n%s.every == 0 {
		if h := liveHeap(); h > s.start && h-s.start > s.peak {
			s.peak = h - s.start
		}
	}
}

// listing runs one whole listing per iteration: run reads it, calling hs.page() as
// pages arrive (hs is nil unless the heap is sampled, every `every` pages), and says
// how many items it read, which must be n. With sampleHeap it reports the peak live
// heap the listing adds; without, its throughput in unit.
func listing(b *testing.B, n, every int, unit string, sampleHeap bool, run func(hs *heapSampler) (int, error)) {
	var peak uint64
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var hs *heapSampler
		if sampleHeap {
			b.StopTimer()
			hs = newHeapSampler(every)
			b.StartTimer()
		}
		count, err := run(hs)
		if err != nil {
			b.Fatal(err)
		}
		if count != n {
			b.Fatalf("read %d items, want %d", count, n)
		}
		if hs != nil && hs.peak > peak {
			peak = hs.peak
		}
	}
	b.StopTimer()
	if sampleHeap {
		b.ReportMetric(float64(peak), "peak-live-heap-B")
	} else {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), unit)
	}
}

// Iterate lists all n chats per iteration, through chatclient's Chats iterator or a
// hand-written page loop. With sampleHeap it reports the peak live heap the iteration
// adds (sampled every 25 pages); without, it reports chats/s.
func Iterate(b *testing.B, n int, viaClient, sampleHeap bool) {
	srv := IterationServer(n)
	defer srv.Close()
	ctx := context.Background()
	client := NewClient(b, srv.URL)
	base := Baseline{HC: transport(), Base: srv.URL}
	listing(b, n, 25, "chats/s", sampleHeap, func(hs *heapSampler) (int, error) {
		count := 0
		var sum int64
		if viaClient {
			for chat, err := range client.Chats(ctx, 100, chatclient.Filter{}) {
				if err != nil {
					return count, err
				}
				sum += chat.ID
				count++
				if count%chatclient.MaxPageSize == 0 {
					hs.page()
				}
			}
		} else {
			for tok := ""; ; {
				page, _, err := base.GetChats(ctx, 100, PlainFilter{}, 20, tok)
				if err != nil {
					return count, err
				}
				for _, c := range page.Chats {
					sum += c.ChatID
					count++
				}
				hs.page()
				if tok = page.Paging.NextPageToken; tok == "" {
					break
				}
			}
		}
		if sum != int64(n)*int64(n+1)/2 {
			return count, fmt.Errorf("chat id sum %d: chats skipped or repeated", sum)
		}
		return count, nil
	})
}

// QuotaResult is what one run of the quota workload measured.
type QuotaResult struct {
	// Wall is how long the workload took; Minimum, the least the quota allows.
	Wall, Minimum time.Duration
	// Calls is how many calls the callers made.
	Calls int
	// Refused counts the 420s the server sent.
	Refused int
	// Failed counts the errors the callers saw.
	Failed int
}

// Quota runs the quota workload once: `calls` getChats calls from `workers`
// goroutines against chattest with a getChats quota of `perWindow` a second and its
// parallel limit of 4, through one chatclient or the naive policy (retry any 420 after
// a fixed one-second sleep, no in-flight limit). It starts at the top of a second, so
// that the windows line up and the minimum is exact.
func Quota(calls, workers int, perWindow int64, viaClient bool) QuotaResult {
	srv := chattest.NewServer(chattest.WithToken(token), chattest.WithDefaultFixture(),
		chattest.WithQuota("getChats", chattest.Quota{Limit: perWindow, Window: time.Second}))
	defer srv.Close()
	ctx := context.Background()
	client, err := chatclient.New(chatclient.APIKey(token), chatclient.WithBaseURL(srv.URL), chatclient.WithHTTPClient(transport()))
	if err != nil {
		panic(err)
	}
	base := Baseline{HC: transport(), Base: srv.URL}
	naive := func() error {
		for {
			_, status, err := base.GetChats(ctx, 100, PlainFilter{}, 1, "")
			if status == 420 {
				time.Sleep(time.Second)
				continue
			}
			return err
		}
	}
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second)))
	start := time.Now()
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(calls) {
				var err error
				if viaClient {
					_, err = client.ListChats(ctx, 100, chatclient.Filter{}, chatclient.PageRequest{Limit: 1})
				} else {
					err = naive()
				}
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	res := QuotaResult{Wall: time.Since(start), Calls: calls, Failed: int(failed.Load())}
	// The quota allows perWindow calls a window: the last batch starts after
	// ceil(calls/perWindow)-1 whole windows.
	res.Minimum = time.Duration((int64(calls)+perWindow-1)/perWindow-1) * time.Second
	for _, r := range srv.Requests() {
		if r.Status == 420 {
			res.Refused++
		}
	}
	return res
}

// ReportQuota runs Quota b.N times and reports its figures.
func ReportQuota(b *testing.B, viaClient bool) QuotaResult {
	var last QuotaResult
	for range b.N {
		last = Quota(1000, 16, 200, viaClient)
	}
	b.ReportMetric(last.Wall.Seconds(), "wall-s")
	b.ReportMetric(last.Minimum.Seconds(), "min-s")
	b.ReportMetric(float64(last.Wall)/float64(last.Minimum), "x-min")
	b.ReportMetric(float64(last.Refused), "420s")
	b.ReportMetric(100*float64(last.Refused)/float64(last.Calls), "420-%")
	b.ReportMetric(float64(last.Failed), "caller-errors")
	return last
}

// HistoryServer serves one chat (business 100, chat 1) of n generated messages from
// chattest, with no quota.
func HistoryServer(n int) *chattest.Server {
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	f := chattest.Fixture{Businesses: []chattest.FixtureBusiness{{
		BusinessID: 100,
		Chats: []api.Chat{{ChatID: 1, Type: api.ChatTypeChat, Status: api.ChatStatusWaitingForPartner,
			Context: api.ChatFullContext{Type: api.ChatContextTypeDirect}, CreatedAt: t0, UpdatedAt: t0}},
		Conversations: []chattest.Conversation{{ChatID: 1, Generate: n}},
	}}}
	data, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return chattest.NewServer(chattest.WithToken(token), chattest.WithFixture(data),
		chattest.WithQuota("getChatHistory", chattest.Quota{}), chattest.WithRequestLog(0))
}

// PlainMessage is a message as the baseline decodes it.
type PlainMessage struct {
	MessageID int64     `json:"messageId"`
	CreatedAt time.Time `json:"createdAt"`
	Sender    string    `json:"sender"`
	Message   string    `json:"message"`
	Payload   []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		Size int64  `json:"size"`
	} `json:"payload"`
}

// GetChatHistory is one getChatHistory page by hand.
func (b Baseline) GetChatHistory(ctx context.Context, business, chat int64, limit int, pageToken string) ([]PlainMessage, string, error) {
	url := b.Base + "/v2/businesses/" + strconv.FormatInt(business, 10) + "/chats/history?chatId=" + strconv.FormatInt(chat, 10) + "&limit=" + strconv.Itoa(limit)
	if pageToken != "" {
		url += "&page_token=" + pageToken
	}
	var env struct {
		Result struct {
			Messages []PlainMessage `json:"messages"`
			Paging   struct {
				NextPageToken string `json:"nextPageToken"`
			} `json:"paging"`
		} `json:"result"`
	}
	if _, err := b.do(ctx, http.MethodPost, url, struct{}{}, &env); err != nil {
		return nil, "", fmt.Errorf("getChatHistory: %v", err)
	}
	return env.Result.Messages, env.Result.Paging.NextPageToken, nil
}

// IterateHistory reads all n messages of a chat per iteration, through chatclient's
// Messages iterator or a hand-written page loop, reporting messages/s or, with
// sampleHeap, the peak live heap the iteration adds (sampled every 10 pages).
func IterateHistory(b *testing.B, n int, viaClient, sampleHeap bool) {
	srv := HistoryServer(n)
	defer srv.Close()
	ctx := context.Background()
	client := NewClient(b, srv.URL)
	base := Baseline{HC: transport(), Base: srv.URL}
	listing(b, n, 10, "messages/s", sampleHeap, func(hs *heapSampler) (int, error) {
		count := 0
		if viaClient {
			for _, err := range client.Messages(ctx, 100, 1, 0) {
				if err != nil {
					return count, err
				}
				count++
				if count%chatclient.MaxHistoryPageSize == 0 {
					hs.page()
				}
			}
			return count, nil
		}
		for tok := ""; ; {
			msgs, next, err := base.GetChatHistory(ctx, 100, 1, 100, tok)
			if err != nil {
				return count, err
			}
			count += len(msgs)
			hs.page()
			if tok = next; tok == "" {
				return count, nil
			}
		}
	})
}

// FileSize is the size of the file the send benchmark uploads: the Market's maximum.
const FileSize = chatclient.MaxFileSize

// SinkServer answers every request with an empty OK after reading the body into
// io.Discard, so that a benchmark measures what the client allocates.
func SinkServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	}))
}

// SendFile sends a FileSize file per iteration from a source that can be read at any
// offset (readerAt: a *bytes.Reader, like an *os.File) or from a plain stream, and
// reports the bytes allocated per send as a share of the file's size.
func SendFile(b *testing.B, readerAt bool) {
	srv := SinkServer()
	defer srv.Close()
	client := NewClient(b, srv.URL)
	data := make([]byte, FileSize)
	for i := range data {
		data[i] = byte(i)
	}
	ctx := context.Background()
	b.SetBytes(FileSize)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for range b.N {
		var r io.Reader = bytes.NewReader(data)
		if !readerAt {
			r = struct{ io.Reader }{bytes.NewReader(data)} // hides ReadAt: a plain stream
		}
		if err := client.SendFile(ctx, 100, 1, "photo.bin", r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/FileSize, "alloc-x-file")
}
