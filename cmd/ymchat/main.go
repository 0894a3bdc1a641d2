// Command ymchat looks at a seller's Yandex Market chats from the command line, and
// shows what the ymchat library does with no account at all: `ymchat demo` runs it
// against an in-process fake Market.
//
// Usage:
//
//	ymchat demo                        walk through the library against the fake Market
//	ymchat chats [filters] [--sort updated|-updated] [--limit N] [--json|--jsonl]
//	ymchat chat get CHAT_ID
//	ymchat chat new --order ID | --return ID
//	ymchat chat history CHAT_ID [--from MESSAGE_ID] [--limit N] [--json|--jsonl]
//	ymchat chat message CHAT_ID MESSAGE_ID [--json]
//	ymchat chat send CHAT_ID [--message TEXT]    (text from stdin without --message)
//	ymchat chat send-file CHAT_ID PATH
//	ymchat chat download CHAT_ID MESSAGE_ID [--out DIR] [--allow-credentials-host HOST]
//	ymchat version                     (or --version)
//	ymchat listen --addr HOST:PORT [--allow-ip CIDR|market ...] [--trusted-proxy CIDR ...]
//	ymchat fake [--addr HOST:PORT] [--notify URL ...] [--state FILE] [-v] [--quota OP=LIMIT/WINDOW ...]
//	ymchat trigger EVENT [CHAT_ID] [-m TEXT] [--status STATUS]   (drives a running fake)
//	ymchat profiles                    (the config file's profiles)
//
// Each shared setting comes from its flag, else the environment (YM_API_KEY,
// YM_BUSINESS_ID, YM_BASE_URL, YM_REDIS_URL), else the profile (--profile or
// YM_PROFILE; config.go), else the default. --fake runs any command against the
// fake Market instead.
//
// Exit codes: 0 success; 1 an API or network error; 2 a usage error; 3 rate limited;
// 130 interrupted (Ctrl-C or SIGTERM; listen exits 0 after a graceful shutdown).
package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{
		stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now, isTerminal: isTerminal,
		width: stdoutWidth, configDir: os.UserConfigDir, cacheDir: os.UserCacheDir,
	})
	stop()
	os.Exit(code)
}

// stdoutWidth is the width of the terminal on stdout: its size, or $COLUMNS when the
// size cannot be read; 0 (no limit) when stdout is not a terminal.
func stdoutWidth() int {
	fd := int(os.Stdout.Fd())
	if !term.IsTerminal(fd) {
		return 0
	}
	if w, _, err := term.GetSize(fd); err == nil && w > 0 {
		return w
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// isTerminal says whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
