package chatclient

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func validateID(field string, id int64) error {
	if id < 1 {
		return &ValidationError{Field: field, Rule: "must be at least 1", Value: id}
	}
	return nil
}

func quoted(v any) string { return strconv.Quote(fmt.Sprint(v)) }

// ValidateText checks a text message as [Client.SendMessage] does, without sending it:
// 1 to [MaxMessageLength] characters of valid UTF-8, not only white space.
func ValidateText(text string) error {
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return &ValidationError{Field: "message", Rule: "must be valid UTF-8", Value: fmt.Sprintf("%d bytes", len(text))}
	case strings.TrimSpace(text) == "":
		return &ValidationError{Field: "message", Rule: "must not be empty or only white space", Value: quoted(text)}
	case n > MaxMessageLength:
		return &ValidationError{Field: "message", Rule: fmt.Sprintf("must be at most %d characters", MaxMessageLength), Value: fmt.Sprintf("%d characters", n)}
	}
	return nil
}

func validateFileName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return &ValidationError{Field: "file name", Rule: "must not be empty", Value: quoted(name)}
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return &ValidationError{Field: "file name", Rule: "must be printable UTF-8", Value: quoted(name)}
	case strings.ContainsAny(name, `/\`):
		return &ValidationError{Field: "file name", Rule: "must be a name, not a path (use filepath.Base)", Value: quoted(name)}
	case len(name) > 255:
		return &ValidationError{Field: "file name", Rule: "must be at most 255 bytes", Value: fmt.Sprintf("%d bytes", len(name))}
	}
	return nil
}

// Limits of the conversation methods, from the Market's documents.
const (
	// MaxHistoryPageSize is the most messages one getChatHistory page may hold.
	MaxHistoryPageSize = 100
	// MaxMessageLength is the most characters (not bytes) a text message may hold.
	MaxMessageLength = 4096
	// MaxFileSize is the largest file sendFileToChat takes, in bytes (5 MiB).
	MaxFileSize = 5 << 20
)
