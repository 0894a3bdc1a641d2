package chatclient

import (
	"iter"
	"slices"
)

// MaxEmptyPages is how many pages in a row that bring nothing new (no items, or only
// items an earlier page of the listing held) a listing accepts before it stops with a
// [*PagingError] matching [ErrNoProgress]: a Market that pages through nothing would
// otherwise spend the quota.
const MaxEmptyPages = 10

// PageRequest asks for one page of a listing.
type PageRequest struct {
	// Limit is how many items the page may hold (chats: 1 to [MaxPageSize]; messages:
	// 1 to [MaxHistoryPageSize]); 0 leaves it to the Market.
	Limit int
	// Token is the NextPageToken of the previous page; empty for the first page. A
	// token stored after a failure resumes the listing where it stopped.
	Token string
}

// pages runs a listing from start: fetch returns a page and the token of the next;
// fresh drops from the page the items an earlier page held (by id, through seen) and
// returns how many are left, so that a listing yields each item once whatever the
// Market repeats. It yields each page; on a failure it yields the error once and stops.
// It stops after the last page, on a repeated token and after MaxEmptyPages pages in a
// row that brought nothing new.
func pages[P any](op Operation, start PageRequest, fetch func(PageRequest) (P, string, error), fresh func(P, *idSet) int) iter.Seq2[P, error] {
	return func(yield func(P, error) bool) {
		var (
			loop  loopDetector
			seen  idSet
			empty int
			zero  P
		)
		req := start
		for n := 1; ; n++ {
			p, next, err := fetch(req)
			if err != nil {
				yield(zero, err)
				return
			}
			if fresh(p, &seen) == 0 {
				empty++
			} else {
				empty = 0
			}
			if !yield(p, nil) || next == "" {
				return
			}
			switch {
			case loop.repeated(next):
				yield(zero, &PagingError{Operation: op, Pages: n, Token: next, Err: ErrRepeatedPageToken})
				return
			case empty >= MaxEmptyPages:
				yield(zero, &PagingError{Operation: op, Pages: n, Token: next, Err: ErrNoProgress})
				return
			}
			req.Token = next
		}
	}
}

// idSet holds the ids a listing has yielded, sorted: 8 bytes an item, the least a
// listing can keep and still yield each item once.
type idSet struct{ ids []int64 }

// add adds id and reports whether it was new.
func (s *idSet) add(id int64) bool {
	i, found := slices.BinarySearch(s.ids, id)
	if found {
		return false
	}
	s.ids = slices.Insert(s.ids, i, id)
	return true
}

// dropSeen removes from items those whose id seen holds already, adding the others.
func dropSeen[T any](items []T, seen *idSet, id func(*T) int64) []T {
	return slices.DeleteFunc(items, func(it T) bool { return !seen.add(id(&it)) })
}

// items flattens an iterator over pages into one over their items.
func items[P, T any](pages iter.Seq2[P, error], of func(P) []T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for p, err := range pages {
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range of(p) {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// loopDetector finds a page token the Market hands out again, in constant memory (so
// that iterating stays flat however many pages there are): a token equal to the one
// before is caught at once, and a longer cycle within about twice its length, by
// comparing each token with a checkpoint moved at doubling intervals (Brent's method).
type loopDetector struct {
	prev, checkpoint string
	steps, power     int
}

func (d *loopDetector) repeated(token string) bool {
	if token == d.prev || (d.checkpoint != "" && token == d.checkpoint) {
		return true
	}
	d.prev = token
	d.steps++
	if d.steps >= d.power {
		d.checkpoint, d.power, d.steps = token, max(1, 2*d.power), 0
	}
	return false
}
