package spectest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEGoExamplesCompile builds every ```go block of the README as the body of a
// function (with ctx, client, businessID, chatID, orderID and t in scope), in a throwaway
// package inside the module, importing only what a user would: never package api.
func TestREADMEGoExamplesCompile(t *testing.T) {
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	require.NotEmpty(t, blocks, "the README shows Go")
	declared := regexp.MustCompile(`(?m)^\t?([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*)\s*:=`)
	var b strings.Builder
	b.WriteString(`package readmecheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ymchat/ymchat/chatclient"
	"github.com/ymchat/ymchat/chatclient/chattest"
	"github.com/ymchat/ymchat/chatclient/notify"
	"github.com/ymchat/ymchat/chatclient/redislimit"
	"github.com/redis/go-redis/v9"
	"net/http"
)

var (
	_ = errors.As
	_ = fmt.Sprint
	_ = os.Getenv
	_ = strings.TrimSpace
	_ = chatclient.New
	_ = chattest.NewServer
	_ = notify.NewHandler
	_ = redislimit.New
	_ = redis.NewClient
	_ = http.Handle
)
`)
	for i, m := range blocks {
		body := m[1]
		require.NotContains(t, body, "ymchat/api", "README example %d imports package api", i+1)
		if strings.HasPrefix(strings.TrimSpace(body), "package ") || strings.Contains(body, "\nfunc ") {
			continue // a whole file or function: shown for reading, built by the examples' tests
		}
		var uses []string
		for _, d := range declared.FindAllStringSubmatch(body, -1) {
			for _, name := range strings.Split(d[1], ",") {
				if name = strings.TrimSpace(name); name != "_" && name != "" {
					uses = append(uses, "_ = "+name)
				}
			}
		}
		params := "ctx context.Context, t *testing.T, businessID, orderID int64"
		for name, typ := range map[string]string{"chatID": "int64", "client": "*chatclient.Client"} {
			if !regexp.MustCompile(`\b` + name + `\b[^:=\n]*:=`).MatchString(body) {
				params += ", " + name + " " + typ
			}
		}
		b.WriteString("\nfunc example" + string(rune('A'+i)) + "(" + params + ") error {\n")
		b.WriteString(body + "\n" + strings.Join(uses, "\n") + "\nreturn nil\n}\n")
	}
	dir, err := os.MkdirTemp(filepath.Join(root, "internal"), "readmecheck")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.WriteFile(filepath.Join(dir, "readme.go"), []byte(b.String()), 0o644))
	cmd := exec.Command("go", "vet", "./internal/"+filepath.Base(dir))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "README examples do not build:\n%s\n%s", out, b.String())
}
