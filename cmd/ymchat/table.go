package main

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ymchat/ymchat/chatclient"
)

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
