package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeConfig writes a config file and a token file (mode perm) under a new config
// directory and returns the variables that point at it.
func writeConfig(t *testing.T, body string, perm os.FileMode) map[string]string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ymchat"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ymchat", "config.json"), []byte(body), 0o600))
	tok := filepath.Join(dir, "ymchat", "shop.token")
	require.NoError(t, os.WriteFile(tok, []byte(token+"\n"), perm))
	require.NoError(t, os.Chmod(tok, perm))
	return map[string]string{"XDG_CONFIG_HOME": dir}
}

func TestProfilesAndPrecedence(t *testing.T) {
	srv, _ := fake(t)
	vars := writeConfig(t, `{"default": "shop", "profiles": {
		"shop": {"business": 100, "baseUrl": "`+srv.URL+`", "tokenFile": "shop.token"},
		"other": {"business": 200, "baseUrl": "http://127.0.0.1:1", "tokenFile": "shop.token"}}}`, 0o600)

	// The default profile gives everything.
	res := runCLI(t, vars, false, "chat", "get", "5000003")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stdout, "5000003")

	// YM_PROFILE picks another; --profile beats it.
	vars["YM_PROFILE"] = "other"
	res = runCLI(t, vars, false, "chat", "get", "5000003", "--profile", "shop")
	require.Equal(t, 0, res.code, res.stderr)

	// The environment beats the profile; the flag beats the environment.
	vars["YM_PROFILE"] = ""
	vars["YM_BUSINESS_ID"] = "200"
	res = runCLI(t, vars, false, "chat", "get", "5000003")
	assert.Equal(t, 1, res.code, "business 200 has no chat 5000003: %s", res.stderr)
	res = runCLI(t, vars, false, "chat", "get", "5000003", "--business", "100")
	require.Equal(t, 0, res.code, res.stderr)

	// Help tells where each value comes from, once.
	res = runCLI(t, vars, false, "chats", "--help")
	require.Equal(t, 0, res.code)
	help := strings.Join(strings.Fields(res.stdout), " ") // unwrapped
	assert.Contains(t, help, "(now 200, from YM_BUSINESS_ID)")
	assert.Contains(t, help, `API base URL [$YM_BASE_URL, profile] (now `+srv.URL+`, from profile "shop")`)
	assert.NotContains(t, help, "(default 100)")

	// An unknown profile is a usage error naming where it came from.
	res = runCLI(t, vars, false, "chats", "--profile", "nope")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `no profile "nope" (from --profile)`)

	// ymchat profiles lists them, the one in use marked.
	res = runCLI(t, vars, false, "profiles")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Regexp(t, `\* shop +100 +http://127`, res.stdout)
	assert.Regexp(t, `  other +200 `, res.stdout)

	// A wrong profile name does not stop the listing that tells the right ones.
	vars["YM_PROFILE"] = "nope"
	res = runCLI(t, vars, false, "profiles")
	require.Equal(t, 0, res.code, res.stderr)
	assert.Contains(t, res.stderr, `no profile "nope" (from YM_PROFILE)`)
	assert.Regexp(t, `  shop +100 `, res.stdout)
}

func TestTokenFileReadableByOthersIsRefused(t *testing.T) {
	srv, _ := fake(t)
	vars := writeConfig(t, `{"profiles": {"shop": {"business": 100, "baseUrl": "`+srv.URL+`", "tokenFile": "shop.token"}}}`, 0o644)
	res := runCLI(t, vars, false, "chat", "get", "5000003", "--profile", "shop")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, "can be read by others (mode 0644): chmod 600")

	// YM_API_KEY comes before the profile's file.
	vars["YM_API_KEY"] = token
	res = runCLI(t, vars, false, "chat", "get", "5000003", "--profile", "shop")
	assert.Equal(t, 0, res.code, res.stderr)
}

func TestTokenInConfigIsRefused(t *testing.T) {
	vars := writeConfig(t, `{"profiles": {"shop": {"business": 100, "token": "abc"}}}`, 0o600)
	res := runCLI(t, vars, false, "chats", "--profile", "shop")
	assert.Equal(t, 2, res.code)
	assert.Contains(t, res.stderr, `profile "shop" holds a token`)

	res = runCLI(t, writeConfig(t, `{}`, 0o600), false, "profiles")
	assert.Equal(t, 0, res.code)
	assert.Contains(t, res.stdout, "no profiles in ")
}
