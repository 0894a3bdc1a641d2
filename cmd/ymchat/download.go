package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

type downloadFlags struct {
	out   string
	hosts []string
}

func newDownloadCommand(e *env, o *options) *cobra.Command {
	f := &downloadFlags{}
	cmd := &cobra.Command{
		Use:   "download CHAT_ID MESSAGE_ID [--out DIR]",
		Short: "Save every attachment of a message to files",
		Long: `Save every attachment of a message in DIR (default: the current directory) and
print the path of each file saved, one a line.

A file's name comes from the customer's message, so it is made safe first:
only its base name is kept (../../.ssh/id_rsa is saved as id_rsa, inside DIR),
control characters and leading dots are dropped, and an existing file is never
overwritten: the name gets a suffix (photo-1.jpg). A body longer than the size
the message declares, or more than 3 redirects, is refused, and what was written
of it is removed.

The token goes to no download host unless named with --allow-credentials-host:
an attachment's URL comes from a customer, and the token must not follow it.`,
		Example:           `  ymchat chat download 5000003 1000002 --out ./photos`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeChatID(e),
		RunE: func(cmd *cobra.Command, args []string) error {
			chatID, msgID, err := parseMessageRef(args)
			if err != nil {
				return err
			}
			dir := f.out
			if dir == "" {
				dir = "."
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return usagef("--out %s: not a directory", dir)
			}
			var extra []chatclient.Option
			if len(f.hosts) > 0 {
				extra = append(extra, chatclient.WithDownloadCredentials(f.hosts...))
			}
			return o.withClient(cmd, e, nil, func(ctx context.Context, s *session) error {
				return download(ctx, e, s, chatID, msgID, dir)
			}, extra...)
		},
	}
	fl := cmd.Flags()
	fl.Var(stringValue{&f.out, "DIR"}, "out", "save the files in this directory (default: the current one)")
	fl.Var(listValue{&f.hosts, "HOST"}, "allow-credentials-host", "send the token to this download host (host[:port]; repeatable); none by default")
	return cmd
}

// download saves each attachment of the message in dir.
func download(ctx context.Context, e *env, s *session, chatID, msgID int64, dir string) error {
	m, err := s.client.GetMessage(ctx, s.business, chatID, msgID)
	if err != nil {
		return err
	}
	if len(m.Attachments) == 0 {
		fmt.Fprintf(e.stderr, "message %d has no attachments\n", msgID)
		return nil
	}
	for i, a := range m.Attachments {
		f, path, err := createUnique(dir, safeFileName(a.Name, i+1))
		if err != nil {
			return err
		}
		_, err = s.client.Download(ctx, a, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path) // never leave a part of a refused file behind
			return fmt.Errorf("attachment %d (%s): %w", i+1, safeFileName(a.Name, i+1), err)
		}
		fmt.Fprintln(e.stdout, path)
	}
	return nil
}

// safeFileName makes an attachment's name, which comes from a customer, a plain file
// name: its base name only (with / and \ both separators, whatever the system),
// without control characters or leading dots (nothing hidden, no "." or ".."), at
// most 200 bytes; "attachment-N" when nothing is left.
func safeFileName(name string, n int) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || r == ':' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	name = strings.TrimSpace(name)
	for len(name) > 200 {
		r := []rune(name)
		name = string(r[:len(r)-1])
	}
	if name == "" {
		return "attachment-" + strconv.Itoa(n)
	}
	return name
}

// createUnique creates name in dir, or name-1, name-2... before the extension when
// it exists: never overwriting a file, and never following a link planted there
// (O_EXCL refuses an existing path, links included).
func createUnique(dir, name string) (*os.File, string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		candidate := name
		if i > 0 {
			candidate = stem + "-" + strconv.Itoa(i) + ext
		}
		path := filepath.Join(dir, candidate)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, path, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("%s: too many files of that name in %s", name, dir)
}
