package main

// Everything ymchat prints for people and programs: the chats table, the message
// transcript, the JSON and JSON lines, the lines that confirm a send or say what a
// command waits for, the demo's tables, and the explanation of every error.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/inbox"
)

// msk is the Market's time zone (Moscow, UTC+3, no daylight saving).
var msk = time.FixedZone("MSK", 3*60*60)

// age says how long ago t was, in the largest whole unit.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// byteSize says how big n bytes are, for people.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// jsonLines writes values as JSON lines, a whole line in one write, from any
// goroutine. A write that fails fails that line only (a json.Encoder would keep the
// error for every later line), so the inbox can hold back the one event and try again.
type jsonLines struct {
	mu sync.Mutex
	w  io.Writer
}

func newJSONLines(w io.Writer) *jsonLines { return &jsonLines{w: w} }

func (j *jsonLines) write(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_, err = j.w.Write(append(line, '\n'))
	return err
}

// Chats.

// chatJSON is a chat as --json and --jsonl print it. Every command's JSON names ids
// after what they identify: chatId, messageId, orderId, returnId, campaignId,
// businessId (never a bare "id").
type chatJSON struct {
	ID         int64    `json:"chatId"`
	Type       string   `json:"type"`
	Status     string   `json:"status"`
	Context    string   `json:"contextType"`
	OrderID    int64    `json:"orderId,omitempty"`
	ReturnID   int64    `json:"returnId,omitempty"`
	CampaignID int64    `json:"campaignId,omitempty"`
	Customer   string   `json:"customer,omitempty"`
	CustomerID string   `json:"customerPublicId,omitempty"`
	CreatedAt  jsonTime `json:"createdAt"`
	UpdatedAt  jsonTime `json:"updatedAt"`
}

// jsonTime is a time as every JSON ymchat prints has it: RFC 3339 in UTC, to the
// second ("2026-11-22T09:00:00Z"), whatever zone the Market or the fake wrote it
// in, so that a script compares them as strings.
type jsonTime time.Time

// MarshalJSON implements json.Marshaler.
func (t jsonTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(formatJSONTime(time.Time(t)))
}

// UnmarshalJSON implements json.Unmarshaler, for tests and programs that read it back.
func (t *jsonTime) UnmarshalJSON(b []byte) error {
	var tt time.Time
	if err := json.Unmarshal(b, &tt); err != nil {
		return err
	}
	*t = jsonTime(tt)
	return nil
}

// formatJSONTime formats t as jsonTime does.
func formatJSONTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func toJSON(c chatclient.Chat) chatJSON {
	return chatJSON{
		ID: c.ID, Type: string(c.Type), Status: string(c.Status), Context: string(c.Context.Type),
		OrderID: c.Context.OrderID, ReturnID: c.Context.ReturnID, CampaignID: c.Context.CampaignID,
		Customer: c.Context.Customer.Name, CustomerID: c.Context.Customer.PublicID,
		CreatedAt: jsonTime(c.CreatedAt), UpdatedAt: jsonTime(c.UpdatedAt),
	}
}

// printChatsJSON writes the chats as one JSON document, with the token that resumes
// the listing when there is more.
func printChatsJSON(w io.Writer, chats []chatclient.Chat, token string) error {
	doc := struct {
		Chats         []chatJSON `json:"chats"`
		NextPageToken string     `json:"nextPageToken,omitempty"`
	}{Chats: make([]chatJSON, len(chats)), NextPageToken: token}
	for i, c := range chats {
		doc.Chats[i] = toJSON(c)
	}
	return writeJSON(w, doc)
}

// contextText says what a chat is about, for people.
func contextText(c chatclient.ChatContext) string {
	switch c.Type {
	case chatclient.ContextOrder:
		return fmt.Sprintf("order %d", c.OrderID)
	case chatclient.ContextReturn:
		return fmt.Sprintf("return %d (order %d)", c.ReturnID, c.OrderID)
	case chatclient.ContextDirect:
		return "direct"
	}
	return strings.ToLower(string(c.Type))
}

// printChat writes one chat, a field a line.
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

// printChatID writes the id of a chat started (or found), alone or as JSON.
func printChatID(w io.Writer, id int64, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]int64{"chatId": id})
	}
	_, err := fmt.Fprintln(w, id)
	return err
}

// The chats table streams: its column widths are fixed before the first row, from
// the values the columns can hold and the terminal's width, instead of measured over
// every row as a tabwriter would.
const (
	idWidth       = 7  // chat ids of the Market: 7 digits and up (a longer one overflows its row)
	contextWidth  = 31 // "return 1000703 (order 10043010)"
	customerWidth = 16
	updatedWidth  = 16 // "2006-01-02 15:04"
	ageWidth      = 4  // "120d"
	minFreeWidth  = 6  // the narrowest a truncated column gets
	columnGap     = "  "
)

// chatTable writes chats as rows of a table of fixed widths, as they come.
type chatTable struct {
	w          io.Writer
	now        time.Time
	typeW      int
	statusW    int
	contextW   int
	customerW  int
	updated    bool // the UPDATED (MSK) column is shown (dropped on narrow terminals; AGE stays)
	limited    bool // values wider than their column are cut with "…"
	headerDone bool
	rows       int
}

// newChatTable fits the table to width columns (0: no limit, nothing truncated).
func newChatTable(w io.Writer, now time.Time, width int) *chatTable {
	t := &chatTable{w: w, now: now, updated: true,
		typeW:    maxLen("TYPE", chatclient.ChatTypes()),
		statusW:  maxLen("STATUS", chatclient.ChatStatuses()),
		contextW: contextWidth, customerW: customerWidth}
	if width <= 0 {
		return t
	}
	t.limited = true
	fixed := func() int {
		n := idWidth + t.typeW + t.statusW + ageWidth + 6*len(columnGap)
		if t.updated {
			n += updatedWidth
		}
		return n
	}
	free := width - fixed()
	if free >= contextWidth+customerWidth {
		return t
	}
	// Narrow: the date goes first (AGE still tells how long ago), then the free-text
	// columns share what is left, the context getting the larger part.
	if free < 30 {
		t.updated = false
		free = width - fixed() + len(columnGap)
	}
	t.customerW = min(customerWidth, max(minFreeWidth, free*customerWidth/(contextWidth+customerWidth)))
	t.contextW = min(contextWidth, max(minFreeWidth, free-t.customerW))
	return t
}

func maxLen[T ~string](header string, values []T) int {
	n := len(header)
	for _, v := range values {
		n = max(n, len(v))
	}
	return n
}

// cell pads s to width, cutting it with "…" first when the table has a width limit.
func (t *chatTable) cell(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n > width && t.limited {
		r := []rune(s)
		s, n = string(r[:width-1])+"…", width
	}
	return s + strings.Repeat(" ", max(0, width-n))
}

func (t *chatTable) line(id, typ, status, context, customer, updated, age string) {
	cols := []string{t.cell(id, idWidth), t.cell(typ, t.typeW), t.cell(status, t.statusW),
		t.cell(context, t.contextW), t.cell(customer, t.customerW)}
	if t.updated {
		cols = append(cols, t.cell(updated, updatedWidth))
	}
	cols = append(cols, age)
	fmt.Fprintln(t.w, strings.TrimRight(strings.Join(cols, columnGap), " "))
}

// add writes rows, after the header the first time.
func (t *chatTable) add(chats ...chatclient.Chat) {
	for _, c := range chats {
		if !t.headerDone {
			t.line("ID", "TYPE", "STATUS", "CONTEXT", "CUSTOMER", "UPDATED (MSK)", "AGE")
			t.headerDone = true
		}
		cust := c.Context.Customer.Name
		if cust == "" {
			cust = "-"
		}
		t.line(fmt.Sprint(c.ID), string(c.Type), string(c.Status), contextText(c.Context), cust,
			c.UpdatedAt.In(msk).Format("2006-01-02 15:04"), age(t.now, c.UpdatedAt))
		t.rows++
	}
}

// end writes the count line ("42 chats"), or says that none matched.
func (t *chatTable) end() {
	switch t.rows {
	case 0:
		fmt.Fprintln(t.w, "no chats match")
	case 1:
		fmt.Fprintln(t.w, "1 chat")
	default:
		fmt.Fprintf(t.w, "%d chats\n", t.rows)
	}
}

// resumeCommand is the command line that continues a listing after the last chat
// shown: the same arguments (filters, format, --limit, --business...), with the
// page token in place of any given. The token only resumes the listing it came from:
// without the same filters the Market answers 400.
func resumeCommand(args []string, token string) string {
	parts := []string{"ymchat"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--page-token":
			i++
			continue
		case strings.HasPrefix(a, "--page-token="):
			continue
		}
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(append(parts, "--page-token", shellQuote(token)), " ")
}

// printResume tells how to continue a listing that --limit cut short.
func printResume(w io.Writer, args []string, token string) {
	fmt.Fprintf(w, "more chats follow: resume with %s\n", resumeCommand(args, token))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Messages.

// messageJSON is a message as --json and --jsonl print it (messageId, like every
// id in ymchat's JSON).
type messageJSON struct {
	ID          int64                   `json:"messageId"`
	CreatedAt   jsonTime                `json:"createdAt"`
	Sender      chatclient.Sender       `json:"sender"`
	Text        string                  `json:"text,omitempty"`
	Attachments []chatclient.Attachment `json:"attachments,omitempty"`
}

func toMessageJSON(m chatclient.Message) messageJSON {
	return messageJSON{ID: m.ID, CreatedAt: jsonTime(m.CreatedAt), Sender: m.Sender, Text: m.Text, Attachments: m.Attachments}
}

func messagesJSON(msgs []chatclient.Message) []messageJSON {
	out := make([]messageJSON, len(msgs))
	for i, m := range msgs {
		out[i] = toMessageJSON(m)
	}
	return out
}

// printHistoryJSON writes a chat's messages as one JSON document.
func printHistoryJSON(w io.Writer, chatID int64, msgs []chatclient.Message) error {
	return writeJSON(w, struct {
		ChatID   int64         `json:"chatId"`
		Messages []messageJSON `json:"messages"`
	}{chatID, messagesJSON(msgs)})
}

// printMessage writes one message as a transcript entry: a header line, the text
// indented, and each attachment on its own lines.
func printMessage(w io.Writer, m chatclient.Message) {
	fmt.Fprintf(w, "%s  %s  #%d\n", m.CreatedAt.In(msk).Format("2006-01-02 15:04 MST"), m.Sender, m.ID)
	if m.Text != "" {
		for line := range strings.Lines(m.Text) {
			fmt.Fprintf(w, "  %s\n", strings.TrimRight(line, "\r\n"))
		}
	}
	for _, a := range m.Attachments {
		fmt.Fprintf(w, "  [file] %s (%s)\n         %s\n", a.Name, byteSize(a.Size), a.URL)
	}
}

// transcript writes messages as transcript entries, a blank line between them, as
// they come.
type transcript struct {
	w io.Writer
	n int
}

func (t *transcript) add(m chatclient.Message) {
	if t.n > 0 {
		fmt.Fprintln(t.w)
	}
	printMessage(t.w, m)
	t.n++
}

// end says so when there was no message.
func (t *transcript) end() {
	if t.n == 0 {
		fmt.Fprintln(t.w, "no messages")
	}
}

// Sends.

// landingHook says why a send goes quiet: it failed after it may have reached the
// Market, and the client waits for it to land before it reads the chat's history.
func landingHook(e *env) func(chatclient.RetryInfo) {
	return func(info chatclient.RetryInfo) {
		if info.Reason == chatclient.WaitLanding {
			fmt.Fprintf(e.stderr, "sending failed after it may have reached the Market (%v); waiting %s for it to land, "+
				"then reading the chat's history (nothing is sent again)...\n", info.Err, info.Wait.Round(time.Second))
		}
	}
}

// ack confirms that what (a message, a file and its name) was sent: a line on
// stderr, or a JSON document on stdout with --json.
func ack(e *env, asJSON bool, chatID int64, what string) error {
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"chatId": chatID, "sent": true})
	}
	fmt.Fprintf(e.stderr, "%s sent to chat %d\n", what, chatID)
	return nil
}

// Progress.

// progress writes a status line to stderr when it is a terminal, and nothing otherwise.
type progress struct {
	w      io.Writer
	on     bool
	active bool
}

func (p *progress) show(format string, a ...any) {
	if !p.on {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K"+format, a...)
	p.active = true
}

func (p *progress) clear() {
	if p.active {
		fmt.Fprint(p.w, "\r\033[K")
		p.active = false
	}
}

// waitHook tells about quota waits on the progress line.
func (p *progress) waitHook(info chatclient.RetryInfo) {
	if info.Reason == chatclient.WaitQuotaReset || info.Reason == chatclient.WaitQuotaPacing {
		p.show("quota for %s spent: waiting until %s for the reset...", info.Operation,
			time.Now().Add(info.Wait).In(msk).Format("15:04:05 MST"))
	}
}

// Notifications.

// notificationLine is what listen prints for each chat notification.
type notificationLine struct {
	Type       string `json:"type"`
	BusinessID int64  `json:"businessId"`
	ChatID     int64  `json:"chatId"`
	MessageID  string `json:"messageId,omitempty"`
	Time       string `json:"time"`
}

// The demo.

// waitingTable is a narrow table of chats waiting for the seller.
func waitingTable(w io.Writer, chats []chatclient.Chat, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tABOUT\tCUSTOMER\tSINCE (MSK)\tWAITING")
	for _, c := range chats {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", c.ID, contextText(c.Context), c.Context.Customer.Name,
			c.UpdatedAt.In(msk).Format("2006-01-02 15:04"), age(now, c.UpdatedAt))
	}
	_ = tw.Flush()
}

// wrappedMessage writes a message like the transcript, three spaces in, its text
// wrapped to width and its attachments without their URLs.
func wrappedMessage(w io.Writer, m chatclient.Message, width int) {
	fmt.Fprintf(w, "   %s  %s  #%d\n", m.CreatedAt.In(msk).Format("2006-01-02 15:04 MST"), m.Sender, m.ID)
	for _, line := range wrap(m.Text, width-6) {
		fmt.Fprintf(w, "     %s\n", line)
	}
	for _, a := range m.Attachments {
		fmt.Fprintf(w, "     [file] %s (%s)\n", a.Name, byteSize(a.Size))
	}
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	for para := range strings.Lines(text) {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case len([]rune(line))+1+len([]rune(word)) <= width:
				line += " " + word
			default:
				lines = append(lines, line)
				line = word
			}
		}
		lines = append(lines, line)
	}
	return lines
}

// indent writes each line three spaces in.
func indent(w io.Writer) io.Writer { return &indenter{w: w} }

// indenter is the writer of indent.
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

// Errors.

// flagOf names the command-line flag behind a field the client rejected.
var flagOf = map[string]string{
	"businessId":          "--business",
	"chatId":              "CHAT_ID",
	"messageId":           "MESSAGE_ID",
	"message":             "--message",
	"file":                "PATH",
	"file name":           "PATH",
	"limit":               "--limit",
	"filter.statuses":     "--status",
	"filter.types":        "--type",
	"filter.contextTypes": "--context-type",
	"filter.subjects":     "--order/--return",
	"context":             "--order/--return",
	"base URL":            "--base-url",
	"landing window":      "--landing-window",
	"auth":                "token",
}

// failure is what explain makes of an error, for the exit code.
type failure int

const (
	failedAPI         failure = iota // the Market or the network failed, or answered no
	failedUsage                      // a mistake in the command line
	failedRateLimited                // a quota spent, or the Market's 420/429 past waiting
)

// explain turns an error into a message for people and the kind of failure.
func explain(err error) (string, failure) {
	var (
		ue  usageError
		ve  *chatclient.ValidationError
		rle *chatclient.RateLimitError
		mde *chatclient.MaybeDeliveredError
	)
	switch {
	case errors.As(err, &mde):
		return maybeDelivered(mde), failedAPI
	case errors.As(err, &ue):
		return ue.msg, failedUsage
	case errors.As(err, &ve):
		return fmt.Sprintf("invalid %s: %s (got %v)", flagName(ve.Field), ve.Rule, ve.Value), failedUsage
	case errors.As(err, &rle):
		quota := ""
		switch {
		case rle.Limit >= 0 && rle.Window > 0:
			quota = fmt.Sprintf(" (quota %d per %s)", rle.Limit, windowName(rle.Window))
		case rle.Limit >= 0:
			quota = fmt.Sprintf(" (quota %d)", rle.Limit)
		}
		return fmt.Sprintf("rate limited until %s%s; retry later or raise --max-wait",
			rle.Until.In(msk).Format("2006-01-02 15:04:05 MST"), quota), failedRateLimited
	case errors.Is(err, chatclient.ErrUnauthorized):
		return "unauthorized: check YM_API_KEY (or --token-file)", failedAPI
	case errors.Is(err, chatclient.ErrForbidden):
		return "forbidden: the token is wrong or lacks access to this business; check YM_API_KEY and --business", failedAPI
	case errors.Is(err, chatclient.ErrRateLimited):
		return "rate limited: " + err.Error(), failedRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (see --timeout): " + err.Error(), failedAPI
	}
	// Cobra's own complaints about the command line.
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "if any flags in the group") {
		return err.Error() + " (see --help)", failedUsage
	}
	return err.Error(), failedAPI
}

// windowName says a quota's window in its own unit: "hour", "minute", "15s",
// "1h30m".
func windowName(w time.Duration) string {
	switch w {
	case time.Hour:
		return "hour"
	case time.Minute:
		return "minute"
	case time.Second:
		return "second"
	}
	// Go writes 10m0s and 2h0m0s: drop the zero units after the last one that counts.
	s := w.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// flagName maps "filter.statuses[1]" to "--status" and so on.
func flagName(field string) string {
	base, _, _ := strings.Cut(field, "[")
	if f, ok := flagOf[base]; ok {
		return f
	}
	if base, _, ok := strings.Cut(field, "."); ok {
		if f, ok := flagOf[base]; ok {
			return f
		}
	}
	return field
}

// maybeDelivered explains a send that may have reached the Market, by what the chat's
// history told.
func maybeDelivered(e *chatclient.MaybeDeliveredError) string {
	what := "message"
	if e.Operation == chatclient.OpSendFileToChat {
		what = "file"
	}
	head := fmt.Sprintf("the %s may or may not have reached chat %d: sending failed (%v)", what, e.ChatID, e.Err)
	look := fmt.Sprintf("Look at the chat (ymchat chat history %d) before sending it again", e.ChatID)
	switch {
	case errors.Is(e.CheckErr, chatclient.ErrNotInHistory):
		return fmt.Sprintf("%s, and the chat's history, read once it could no longer land, does not hold it: "+
			"the Market did not act as far as the history tells, so sending it again is safe", head)
	case errors.Is(e.CheckErr, chatclient.ErrIndistinguishable):
		return fmt.Sprintf("%s; the chat holds an identical %s sent around the same time, which may be this one or "+
			"an earlier one. %s", head, what, look)
	case errors.Is(e.CheckErr, chatclient.ErrSettleLater):
		return fmt.Sprintf("%s, and it could still land until %s, past this command's --timeout or --max-wait. "+
			"%s after then", head, e.SettleAfter.In(msk).Format("15:04:05 MST"), look)
	}
	return fmt.Sprintf("%s, and reading the chat's history to check failed too (%v). %s", head, e.CheckErr, look)
}

// printTriggered tells what a trigger made: the chat, the message, the notification
// the fake's receivers get.
func printTriggered(w io.Writer, event string, res chattest.TriggerResult, asJSON bool) error {
	if asJSON {
		return writeJSON(w, res)
	}
	line := fmt.Sprintf("%s: chat %d", event, res.ChatID)
	if res.MessageID != 0 {
		line += fmt.Sprintf(", message %d", res.MessageID)
	}
	if res.Notification != "" {
		line += "; receivers get " + res.Notification
	} else {
		line += "; no notification (the Market sends none for it)"
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// helpWidth is the width help is wrapped at: the terminal's, or 80 when it is not
// known (a pipe, a file), so that help reads the same in a pager.
func helpWidth(e *env) int {
	if e.width != nil {
		if w := e.width(); w > 0 {
			return max(w, 40)
		}
	}
	return 80
}

// tableCell finds the column a help line's text starts at after a name, such as
// "  --limit int    stop after..." or "  chats     List chats": the text after the
// first run of two or more spaces past the line's indent.
var tableCell = regexp.MustCompile(`^(\s*\S+(?: \S+)*\s{2,})\S`)

// wrapHelp wraps every line of help text longer than width at word boundaries. A
// continuation lines up under the line's text: under a flag's or a command's
// description, else under the line's indent. A word longer than the room left is
// cut, so that no line is ever longer than width.
func wrapHelp(text string, width int) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\n")
		if utf8.RuneCountInString(line) <= width {
			b.WriteString(line + "\n")
			continue
		}
		prefix := line[:len(line)-len(strings.TrimLeft(line, " "))]
		if m := tableCell.FindStringSubmatch(line); m != nil && utf8.RuneCountInString(m[1]) <= width/2 {
			prefix = m[1]
		}
		hang := utf8.RuneCountInString(prefix)
		if width-hang < 10 {
			hang = 0
		}
		cur, curLen, empty := prefix, hang, true
		if hang == 0 {
			curLen = utf8.RuneCountInString(prefix)
		}
		next := func() {
			b.WriteString(strings.TrimRight(cur, " ") + "\n")
			cur, curLen, empty = strings.Repeat(" ", hang), hang, true
		}
		for _, word := range strings.Fields(line[len(prefix):]) {
			r := []rune(word)
			sep := 1
			if empty {
				sep = 0
			}
			if curLen+sep+len(r) > width && !empty {
				next()
				sep = 0
			}
			for len(r) > width-curLen-sep { // a word wider than the room: cut it
				n := max(width-curLen-sep, 1)
				cur += strings.Repeat(" ", sep) + string(r[:n])
				next()
				r, sep = r[n:], 0
			}
			cur += strings.Repeat(" ", sep) + string(r)
			curLen += sep + len(r)
			empty = false
		}
		if !empty {
			b.WriteString(strings.TrimRight(cur, " ") + "\n")
		}
	}
	if !strings.HasSuffix(text, "\n") {
		return strings.TrimSuffix(b.String(), "\n")
	}
	return b.String()
}

// The inbox.

// inboxLine is what inbox prints for each event: the chat for every kind but
// NewMessage, which has the message instead (its history does not tell the chat's
// status).
type inboxLine struct {
	Kind       string       `json:"kind"`
	BusinessID int64        `json:"businessId"`
	ChatID     int64        `json:"chatId"`
	OldStatus  string       `json:"oldStatus,omitempty"`
	Chat       *chatJSON    `json:"chat,omitempty"`
	Message    *messageJSON `json:"message,omitempty"`
}

func toInboxLine(ev inbox.Event) inboxLine {
	l := inboxLine{Kind: ev.Kind.String(), BusinessID: ev.BusinessID, ChatID: ev.ChatID, OldStatus: string(ev.OldStatus)}
	if ev.Kind == inbox.NewMessage {
		m := toMessageJSON(ev.Message)
		l.Message = &m
	} else {
		c := toJSON(ev.Chat)
		l.Chat = &c
	}
	return l
}
