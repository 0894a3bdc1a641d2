package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// This file splits a body into the members of its top-level JSON object while
// checking the syntax of the whole body. encoding/json refuses any document nested
// deeper than 10000 levels, even in a property nobody reads, so a PING (or a chat
// notification) with a deep extra field would be rejected; this check has no depth
// limit and otherwise accepts exactly what json.Valid accepts. The few values the
// decoder reads are then decoded with encoding/json: one nested too deep for it is
// not the string or integer wanted anyway.

// syntaxError reports the offset of the first byte that cannot continue the
// document (len(body) when it ends too early).
type syntaxError struct{ offset int }

func (e *syntaxError) Error() string { return "malformed JSON at byte " + strconv.Itoa(e.offset) }

// errNotObject: the body is valid JSON but not an object.
var errNotObject = errors.New("body is not a JSON object")

// objectMembers returns the members of body, which must be exactly one JSON object
// (with surrounding white space). A repeated name keeps its last value, as
// encoding/json does. It fails with a *syntaxError, or errNotObject for valid JSON
// of another kind.
func objectMembers(body []byte) (map[string]json.RawMessage, error) {
	s := scanner{b: body}
	s.space()
	if s.peek() != '{' {
		if err := s.value(); err != nil {
			return nil, err
		}
		if err := s.end(); err != nil {
			return nil, err
		}
		return nil, errNotObject
	}
	s.i++
	obj := map[string]json.RawMessage{}
	s.space()
	if s.peek() == '}' {
		s.i++
		return obj, s.end()
	}
	for {
		name, err := s.name()
		if err != nil {
			return nil, err
		}
		s.space()
		start := s.i
		if err := s.value(); err != nil {
			return nil, err
		}
		obj[name] = body[start:s.i]
		s.space()
		switch s.peek() {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			return obj, s.end()
		default:
			return nil, s.fail()
		}
	}
}

type scanner struct {
	b []byte
	i int
}

// peek returns the current byte, or 0 at the end (0 is never valid there).
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) fail() error { return &syntaxError{offset: s.i} }

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// end checks that only white space follows.
func (s *scanner) end() error {
	s.space()
	if s.i != len(s.b) {
		return s.fail()
	}
	return nil
}

// name reads a member's name and the colon after it, and returns the name decoded.
func (s *scanner) name() (string, error) {
	start := s.i
	if err := s.str(); err != nil {
		return "", err
	}
	raw := s.b[start+1 : s.i-1]
	name := string(raw)
	if bytes.IndexByte(raw, '\\') >= 0 || !utf8.Valid(raw) {
		// Escapes and invalid UTF-8 are decoded as encoding/json decodes them;
		// the string is already known to be valid.
		_ = json.Unmarshal(s.b[start:s.i], &name)
	}
	s.space()
	if s.peek() != ':' {
		return "", s.fail()
	}
	s.i++
	return name, nil
}

// value reads one JSON value of any depth. It keeps the open arrays and objects on
// a slice rather than recursing, so that depth costs one byte of heap per level.
func (s *scanner) value() error {
	var open []byte // '[' or '{' per enclosing container
	for {
		// A value is expected here.
		s.space()
		switch c := s.peek(); {
		case c == '{' || c == '[':
			s.i++
			s.space()
			if s.peek() == closing(c) {
				s.i++
				break // an empty container is a complete value
			}
			open = append(open, c)
			if c == '{' {
				if _, err := s.name(); err != nil {
					return err
				}
			}
			continue
		case c == '"':
			if err := s.str(); err != nil {
				return err
			}
		case c == '-' || ('0' <= c && c <= '9'):
			if err := s.number(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			return s.fail()
		}
		// A value ended: close containers until one continues with a comma.
		for {
			if len(open) == 0 {
				return nil
			}
			s.space()
			top := open[len(open)-1]
			c := s.peek()
			if c == closing(top) {
				s.i++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				return s.fail()
			}
			s.i++
			if top == '{' {
				s.space()
				if _, err := s.name(); err != nil {
					return err
				}
			}
			break
		}
	}
}

func closing(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// str reads a string: no control characters, only JSON's escapes.
func (s *scanner) str() error {
	if s.peek() != '"' {
		return s.fail()
	}
	s.i++
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.fail()
		case c == '\\':
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if !isHex(s.peek()) {
						return s.fail()
					}
					s.i++
				}
			default:
				return s.fail()
			}
		default:
			s.i++
		}
	}
	return s.fail()
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() error {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return s.fail()
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return s.fail()
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return s.fail()
		}
	}
	return nil
}

// digits reads [0-9]* and reports whether it read any.
func (s *scanner) digits() bool {
	start := s.i
	for c := s.peek(); '0' <= c && c <= '9'; c = s.peek() {
		s.i++
	}
	return s.i > start
}

func (s *scanner) literal(lit string) error {
	for i := range len(lit) {
		if s.peek() != lit[i] {
			return s.fail()
		}
		s.i++
	}
	return nil
}
