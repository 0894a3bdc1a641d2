package chattest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// state is the JSON form of [Server.State]: the data as a [Fixture] (without "now":
// dates are kept as they were) and the files sent to chats, with their bytes.
type state struct {
	Fixture Fixture              `json:"fixture"`
	Files   map[string]stateFile `json:"files,omitempty"`
}

// stateFile is one stored file of a state.
type stateFile struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data"`
}

// State returns everything the fake holds — businesses, orders, returns, chats,
// messages and the files sent to chats — as JSON that [WithState] loads back, so
// that a fake that is stopped and started again (ymchat fake --state FILE) goes on
// where it was. Receivers, quotas and recorded requests are not part of it.
func (s *Server) State() ([]byte, error) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	st := state{Files: map[string]stateFile{}}
	for id, b := range s.store.biz {
		fb := FixtureBusiness{BusinessID: id, Orders: []Order{}, Returns: []Return{}, Chats: b.chats}
		for _, o := range b.orders {
			fb.Orders = append(fb.Orders, o)
		}
		for _, r := range b.returns {
			fb.Returns = append(fb.Returns, r)
		}
		for _, c := range b.chats {
			if msgs := b.msgs[c.ChatID]; len(msgs) > 0 {
				fb.Conversations = append(fb.Conversations, Conversation{ChatID: c.ChatID, Messages: msgs})
			}
		}
		st.Fixture.Businesses = append(st.Fixture.Businesses, fb)
	}
	for id, f := range s.store.files {
		st.Files[id] = stateFile{Name: f.name, ContentType: f.contentType, Data: f.data}
	}
	return json.Marshal(st)
}

// WithState loads what [Server.State] returned, in place of a fixture.
func WithState(data []byte) Option {
	return func(s *Server) error {
		var st state
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return fmt.Errorf("chattest: state: %w", err)
		}
		if len(st.Fixture.Businesses) == 0 {
			return errors.New("chattest: state: no businesses")
		}
		fixture, err := json.Marshal(st.Fixture)
		if err != nil {
			return err
		}
		if err := s.store.load(fixture, s.now()); err != nil {
			return err
		}
		s.store.mu.Lock()
		defer s.store.mu.Unlock()
		for id, f := range st.Files {
			s.store.files[id] = storedFile{name: f.Name, contentType: f.ContentType, data: f.Data}
			// Files sent later must not take the id of one loaded here.
			if n, err := strconv.Atoi(strings.TrimPrefix(id, "u")); err == nil && strings.HasPrefix(id, "u") {
				s.store.nextFile = max(s.store.nextFile, n)
			}
		}
		return nil
	}
}
