package chatclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ymchat/ymchat/api"
)

// what is what the send puts into the chat, as its history shows it.
func (e *MaybeDeliveredError) what() sent {
	return sent{text: e.Text, file: e.FileName, size: e.FileSize}
}

// sendOnce sends a call that must not be delivered twice and keeps the send rule (see
// the package doc): the request path sends it again only after an attempt the Market
// certainly did not act on; after any other failure the chat's history decides, read
// once the send can no longer land and within the call's budget.
func (c *Client) sendOnce(ctx context.Context, cl *call, chatID int64, what sent) error {
	rec := c.sends.begin(cl.business, chatID, what, c.clock.Now())
	a, err := c.do(ctx, cl)
	if err == nil {
		if err = c.acceptance(cl.op, &a); err == nil {
			now := c.clock.Now()
			c.sends.end(rec, now, now)
			return nil
		}
		err = &ambiguousError{err: err, end: c.clock.Now()}
	}
	var amb *ambiguousError
	if !errors.As(err, &amb) {
		c.sends.drop(rec)
		return err
	}
	landed := amb.end.Add(c.landing)
	c.sends.end(rec, amb.end, landed)
	e := &MaybeDeliveredError{Operation: cl.op, BusinessID: cl.business, ChatID: chatID,
		Text: what.text, FileName: what.file, FileSize: what.size, Err: amb.err, rec: rec}
	e.onMarketClock(c)
	now := c.clock.Now()
	wait := landed.Sub(now)
	if !c.canWait(ctx, now, wait) {
		e.CheckErr = ErrSettleLater
		return e
	}
	err = c.wait(ctx, RetryInfo{Operation: cl.op, BusinessID: cl.business, Wait: wait, Reason: WaitLanding, Err: amb.err})
	if err == nil {
		var ok bool
		if ok, err = c.delivered(ctx, e); ok {
			return nil
		}
	}
	e.CheckErr = err
	return e
}

// onMarketClock sets e's times from the client's memory of the send, on the Market's
// clock as the client knows it now: a send whose attempt got no answer may be the
// first the client makes, and only a later answer tells how far the Market's clock is
// from ours.
func (e *MaybeDeliveredError) onMarketClock(c *Client) {
	if e.rec == nil {
		return
	}
	c.sends.mu.Lock()
	from, ended, until := e.rec.from, e.rec.ended, e.rec.until
	c.sends.mu.Unlock()
	e.SentFrom, e.SentUntil, e.SettleAfter = c.market.at(from), c.market.at(ended), c.market.at(until)
}

// Delivered settles a [*MaybeDeliveredError] from the chat's history: true when the
// message or file is there, false when it is not (then sending it again is safe).
//
// It is safe to call from e.SettleAfter on, when the send can no longer land; before
// that it returns an error matching [ErrSettleLater] and reads nothing. It returns an
// error matching [ErrIndistinguishable] when the history holds such a message but
// another send of the same message to the same chat could explain it: this client
// remembers its own sends for [SendMemory]; identical words sent by another process
// within the same seconds cannot be told apart from these.
func (c *Client) Delivered(ctx context.Context, e *MaybeDeliveredError) (bool, error) {
	if e == nil {
		return false, &ValidationError{Field: "MaybeDeliveredError", Rule: "must not be nil", Value: nil}
	}
	if e.rec != nil {
		e.onMarketClock(c)
	}
	if now := c.MarketTime(); now.Before(e.SettleAfter) {
		return false, fmt.Errorf("chatclient: %s: chat %d: %w: settle after %s (in %s)", e.Operation, e.ChatID, ErrSettleLater,
			e.SettleAfter.UTC().Format(time.RFC3339), e.SettleAfter.Sub(now).Round(time.Second))
	}
	ok, err := c.delivered(ctx, e)
	if errors.Is(err, ErrNotInHistory) {
		return false, nil
	}
	return ok, err
}

// delivered reads the chat's history for what e sent, within the window in which it
// could have been written. One such message that no other send of this client
// explains is this one; none means it was not delivered; more, or one that another
// send explains, cannot be told apart.
func (c *Client) delivered(ctx context.Context, e *MaybeDeliveredError) (bool, error) {
	what := e.what()
	var times []time.Time // when the messages that carry it were written
	for m, err := range c.Messages(ctx, e.BusinessID, e.ChatID, 0) {
		if err != nil {
			return false, err
		}
		if what.in(m) {
			times = append(times, m.CreatedAt)
		}
	}
	e.onMarketClock(c) // the history's answers told the Market's clock, if nothing before did
	lo, hi := e.SentFrom.Add(-clockSlack), e.SettleAfter.Add(clockSlack)
	var (
		found int
		at    time.Time
	)
	for _, t := range times {
		if !t.Before(lo) && !t.After(hi) {
			found, at = found+1, t
		}
	}
	switch {
	case found == 0:
		return false, ErrNotInHistory
	case found > 1 || c.sends.explains(e.BusinessID, e.ChatID, what, at, e.rec, c.market.at):
		return false, ErrIndistinguishable
	}
	return true, nil
}

// SendMessage sends text to a chat as the seller, at most once (see the package doc's
// "Sending at most once"): nil means the Market took it; a [*MaybeDeliveredError] means
// it may have, and [Client.Delivered] settles it later; any other error means it did
// not.
func (c *Client) SendMessage(ctx context.Context, businessID, chatID int64, text string) error {
	if err := validateID("businessId", businessID); err != nil {
		return err
	}
	if err := validateID("chatId", chatID); err != nil {
		return err
	}
	if err := ValidateText(text); err != nil {
		return err
	}
	req, err := api.NewSendMessageToChatRequest(c.server, businessID, &api.SendMessageToChatParams{ChatID: chatID}, api.SendMessageToChatRequest{Message: text})
	if err != nil {
		return err
	}
	return c.sendOnce(ctx, &call{op: OpSendMessageToChat, business: businessID, req: req, once: true}, chatID, sent{text: text})
}

// in reports whether m is a message of the seller that carries it. The Market may
// store a file under a name of its own making (case, spaces), so names are compared
// folded.
func (s sent) in(m Message) bool {
	if m.Sender != SenderPartner {
		return false
	}
	if s.file == "" {
		return strings.TrimSpace(m.Text) == strings.TrimSpace(s.text)
	}
	for _, a := range m.Attachments {
		if a.Size == s.size && foldName(a.Name) == foldName(s.file) {
			return true
		}
	}
	return false
}
