package main

// The chats the last listing printed, kept so that a shell completes chat ids
// without a request: completion runs on every Tab, and each request would spend the
// Market's hourly quota.

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ymchat/ymchat/chatclient"
)

// maxCachedChats bounds the cache: completion offers what fits on a screen or two.
const maxCachedChats = 500

// chatCachePath is the cache file, or "" when there is no cache directory.
func chatCachePath(e *env) string {
	if e.cacheDir == nil {
		return ""
	}
	dir, err := e.cacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "ymchat", "chats.txt")
}

// rememberChats writes the chats a listing printed, one "ID<TAB>description" line
// each, for completion. A cache that cannot be written is no error: completion just
// offers nothing.
func rememberChats(e *env, chats []chatclient.Chat) {
	path := chatCachePath(e)
	if path == "" || len(chats) == 0 {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	var b strings.Builder
	for i, c := range chats {
		if i == maxCachedChats {
			break
		}
		desc := string(c.Status)
		if name := c.Context.Customer.Name; name != "" {
			desc += " " + strings.Map(func(r rune) rune {
				if r < ' ' {
					return -1
				}
				return r
			}, name)
		}
		fmt.Fprintf(&b, "%d\t%s\n", c.ID, desc)
	}
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(b.String()), 0o600) == nil {
		_ = os.Rename(tmp, path)
	}
}

// completeChatID completes a command's first argument, CHAT_ID, from the chats the
// last listing printed.
func completeChatID(e *env) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return cachedChatIDs(e, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// cachedChatIDs returns the cached ids that start with prefix, with descriptions.
func cachedChatIDs(e *env, prefix string) []string {
	path := chatCachePath(e)
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, _, _ := strings.Cut(sc.Text(), "\t")
		if _, err := strconv.ParseInt(id, 10, 64); err == nil && strings.HasPrefix(id, prefix) {
			out = append(out, sc.Text())
		}
	}
	return out
}
