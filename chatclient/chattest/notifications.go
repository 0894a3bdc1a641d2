package chattest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ymchat/ymchat/api"
	"github.com/ymchat/ymchat/chatclient/notify"
)

// RetrySchedule says how long to wait after the attempt-th failed delivery of a
// notification (attempt counts from 1) before the next attempt; a negative duration
// gives the notification up.
type RetrySchedule func(attempt int) time.Duration

// MarketRetrySchedule is the Market's retry schedule for a notification answered
// neither 200 nor 400: every minute for an hour, then every 15 minutes until a day has
// passed, then every hour; after 14 days it gives up (465 attempts in all).
func MarketRetrySchedule(attempt int) time.Duration {
	switch {
	case attempt < 1:
		return 0
	case attempt <= 60: // the first hour
		return time.Minute
	case attempt <= 60+92: // until 24 hours
		return 15 * time.Minute
	case attempt <= 60+92+312: // until 14 days
		return time.Hour
	}
	return -1
}

// DefaultDeliveryMinute is what a minute of [MarketRetrySchedule] lasts in a Server's
// default schedule, [CompressedSchedule](DefaultDeliveryMinute): 10 ms, so a retry
// every "minute" comes every 10 ms and the 14 days pass in about 34 seconds.
const DefaultDeliveryMinute = 10 * time.Millisecond

// CompressedSchedule is [MarketRetrySchedule] with each minute lasting minute.
func CompressedSchedule(minute time.Duration) RetrySchedule {
	return func(attempt int) time.Duration {
		d := MarketRetrySchedule(attempt)
		if d < 0 {
			return d
		}
		return time.Duration(float64(d) / float64(time.Minute) * float64(minute))
	}
}

// WithDeliverySchedule sets the retry schedule of notifications. Default:
// CompressedSchedule([DefaultDeliveryMinute]).
func WithDeliverySchedule(schedule RetrySchedule) Option {
	return func(s *Server) error {
		if schedule == nil {
			return errors.New("chattest: delivery schedule must not be nil")
		}
		s.notes.schedule = schedule
		return nil
	}
}

// WithReceiver registers a notification receiver when the server starts, as
// [Server.RegisterReceiver] does; [NewServer] panics if the receiver does not answer
// the PING with 200.
func WithReceiver(url string) Option {
	return func(s *Server) error {
		s.notes.pending = append(s.notes.pending, url)
		return nil
	}
}

// Delivery is one attempt to deliver a notification to a receiver.
type Delivery struct {
	// Receiver is the URL the notification was posted to.
	Receiver string
	// Type is the notificationType ("PING", "CHAT_CREATED", ...).
	Type string
	// Body is the JSON body posted.
	Body []byte
	// Attempt counts the attempts to deliver this notification, from 1.
	Attempt int
	// Status is the receiver's answer; 0 when there was none (see Err).
	Status int
	// Err says why there was no answer, or is empty.
	Err string
	// At is when the attempt was made.
	At time.Time
}

// Attempt timeouts: the Market waits 10 s for an answer, 1 s for a PING.
const (
	pingTimeout  = time.Second
	eventTimeout = 10 * time.Second
)

// notifier delivers notifications to the registered receivers.
type notifier struct {
	schedule RetrySchedule
	pending  []string // receivers of WithReceiver, registered when the server starts
	faults   pushFaults
	client   *http.Client
	tr       *http.Transport

	mu         sync.Mutex
	receivers  []*receiver
	deliveries []Delivery
	closed     bool
	wg         sync.WaitGroup
	stop       chan struct{}
}

func newNotifier() *notifier {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &notifier{
		schedule: CompressedSchedule(DefaultDeliveryMinute),
		tr:       tr,
		client:   &http.Client{Transport: tr},
		stop:     make(chan struct{}),
	}
}

// receiver is one registered URL with its queue, served by one goroutine in order.
type receiver struct {
	url   string
	mu    sync.Mutex
	queue []note
	wake  chan struct{} // 1-buffered: something was queued
}

// note is one notification to deliver.
type note struct {
	typ  string
	body []byte
}

// RegisterReceiver registers url (a notification endpoint such as a
// chatclient/notify Handler) to receive the Market's chat notifications. It first posts
// a PING and fails unless the answer is 200. From then on the server posts, in order
// and asynchronously, CHAT_CREATED when createChat starts a new chat,
// CHAT_MESSAGE_SENT when [Server.CustomerWrites] writes (messageId a string, as the
// Market sends it), and CHAT_ARBITRAGE_STARTED / _FINISHED on [Server.StartArbitrage]
// and [Server.FinishArbitrage]. A notification answered 400 is dropped; one answered
// anything else but 200 (or not at all) is retried on the delivery schedule (see
// [WithDeliverySchedule]), holding back the ones after it. [Server.Close] stops the
// deliveries. [Server.Deliveries] tells every attempt.
func (s *Server) RegisterReceiver(url string) error {
	n := s.notes
	body, _ := json.Marshal(notify.Ping{Time: s.now()})
	status, err := n.attempt(url, note{typ: notify.TypePing, body: body}, 1, s.now(), pingTimeout)
	if err != nil {
		return fmt.Errorf("chattest: receiver %s: PING: %w", url, err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("chattest: receiver %s answered the PING %d, want 200", url, status)
	}
	r := &receiver{url: url, wake: make(chan struct{}, 1)}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return errors.New("chattest: the server is closed")
	}
	n.receivers = append(n.receivers, r)
	n.wg.Add(1)
	go n.serve(r, s.now)
	return nil
}

// Deliveries returns every delivery attempt so far, PINGs included, in the order they
// were made.
func (s *Server) Deliveries() []Delivery {
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	return append([]Delivery{}, s.notes.deliveries...)
}

// publish queues a notification for every receiver.
func (n *notifier) publish(v notify.Notification) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // the notify types always marshal
	}
	if n.faults.drop() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.receivers {
		r.mu.Lock()
		r.queue = append(r.queue, note{typ: v.NotificationType(), body: body})
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// serve delivers r's notifications one at a time until the server closes.
func (n *notifier) serve(r *receiver, now func() time.Time) {
	defer n.wg.Done()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.mu.Unlock()
			select {
			case <-r.wake:
				continue
			case <-n.stop:
				return
			}
		}
		nt := r.queue[0]
		r.mu.Unlock()
		for attempt := 1; ; attempt++ {
			status, _ := n.attempt(r.url, nt, attempt, now(), eventTimeout)
			if status == http.StatusOK || status == http.StatusBadRequest {
				break // delivered, or refused for good
			}
			wait := n.schedule(attempt)
			if wait < 0 {
				break // given up
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-n.stop:
				t.Stop()
				return
			}
		}
		r.mu.Lock()
		r.queue = r.queue[1:]
		r.mu.Unlock()
	}
}

// attempt posts one notification and records the attempt.
func (n *notifier) attempt(url string, nt note, attempt int, at time.Time, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() { // the server closing ends an attempt in flight
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	d := Delivery{Receiver: url, Type: nt.typ, Body: nt.body, Attempt: attempt, At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(nt.body))
	if err == nil && nt.typ != notify.TypePing && n.faults.isDown() {
		err = errReceiverDown
	} else if err == nil {
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = n.client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	n.mu.Lock()
	n.deliveries = append(n.deliveries, d)
	n.mu.Unlock()
	return d.Status, err
}

// close stops the deliveries and waits for the goroutines.
func (n *notifier) close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	close(n.stop)
	n.mu.Unlock()
	n.wg.Wait()
	n.tr.CloseIdleConnections()
}

// StartArbitrage opens a dispute in a chat about an order or a return, as a customer
// does: the chat becomes an ARBITRAGE chat WAITING_FOR_ARBITER, a MARKET message says
// so, and receivers get CHAT_ARBITRAGE_STARTED. A DIRECT chat has no dispute.
func (s *Server) StartArbitrage(businessID, chatID int64) error {
	c, ok := s.store.get(businessID, chatID)
	switch {
	case !ok:
		return fmt.Errorf("chattest: %w", chatNotFound(businessID, chatID))
	case c.Context.Type == api.ChatContextTypeDirect:
		return fmt.Errorf("chattest: chat %d is a DIRECT chat: disputes are about orders and returns", chatID)
	case c.Type == api.ChatTypeArbitrage && c.Status != api.ChatStatusFinished:
		return fmt.Errorf("chattest: chat %d has a dispute already", chatID)
	}
	m, err := s.store.write(businessID, chatID, api.ChatMessageSenderMarket, "Покупатель открыл спор. / The customer opened a dispute.", nil, api.ChatStatusWaitingForArbiter, s.now())
	if err != nil {
		return fmt.Errorf("chattest: %w", err)
	}
	if _, err := s.store.setChat(businessID, chatID, "", api.ChatTypeArbitrage, m.CreatedAt); err != nil {
		return fmt.Errorf("chattest: %w", err)
	}
	s.store.record(Event{Kind: EventArbitrationStarted, BusinessID: businessID, ChatID: chatID, At: m.CreatedAt})
	s.notes.publish(notify.ChatArbitrageStarted{ChatID: chatID, BusinessID: businessID, StartedAt: m.CreatedAt})
	return nil
}

// FinishArbitrage ends the dispute of a chat: a SUPPORT message gives the decision,
// the chat is FINISHED, and receivers get CHAT_ARBITRAGE_FINISHED.
func (s *Server) FinishArbitrage(businessID, chatID int64) error {
	c, ok := s.store.get(businessID, chatID)
	switch {
	case !ok:
		return fmt.Errorf("chattest: %w", chatNotFound(businessID, chatID))
	case c.Type != api.ChatTypeArbitrage || c.Status == api.ChatStatusFinished:
		return fmt.Errorf("chattest: chat %d has no open dispute", chatID)
	}
	m, err := s.store.write(businessID, chatID, api.ChatMessageSenderSupport, "Спор завершён. / The dispute is closed.", nil, api.ChatStatusFinished, s.now())
	if err != nil {
		return fmt.Errorf("chattest: %w", err)
	}
	s.store.record(Event{Kind: EventArbitrationFinished, BusinessID: businessID, ChatID: chatID, At: m.CreatedAt})
	s.notes.publish(notify.ChatArbitrageFinished{ChatID: chatID, BusinessID: businessID, FinishedAt: m.CreatedAt})
	return nil
}

// messageSent tells receivers of a customer's message.
func (s *Server) messageSent(businessID, chatID int64, m api.ChatMessage) {
	s.notes.publish(notify.ChatMessageSent{ChatID: chatID, BusinessID: businessID,
		MessageID: notify.MessageID(strconv.FormatInt(m.MessageID, 10)), SentAt: m.CreatedAt})
}
