package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestREADMEInboxExampleBuilds vets the README's inbox program, a whole file that the
// README check of the library (which compiles statement blocks) leaves to its owner.
func TestREADMEInboxExampleBuilds(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	var program string
	for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.HasPrefix(m[1], "package main") && strings.Contains(m[1], "chatclient/inbox") {
			program = m[1]
		}
	}
	require.NotEmpty(t, program, "the README shows the inbox in Go")
	file := filepath.Join(t.TempDir(), "main.go")
	require.NoError(t, os.WriteFile(file, []byte(program), 0o644))
	cmd := exec.Command("go", "vet", file)
	cmd.Dir = filepath.Join("..", "..") // the module's packages resolve from inside it
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}
