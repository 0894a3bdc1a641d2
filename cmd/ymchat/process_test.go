package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binDir holds the ymchat binary the process tests build once.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ymchatBinary builds ymchat once for the tests that run it as OS processes.
func ymchatBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	binOnce.Do(func() {
		if binDir, binError = os.MkdirTemp("", "ymchat-bin"); binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "ymchat")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binError = &buildError{string(out), err}
		}
	})
	require.NoError(t, binError)
	return binPath
}

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

// process is a running ymchat whose output lines arrive on channels.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr chan string
	done           chan struct{}
}

func start(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(ymchatBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	outPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &process{cmd: cmd, stdout: make(chan string, 1000), stderr: make(chan string, 1000), done: make(chan struct{})}
	var wg sync.WaitGroup
	lines := func(r io.Reader, ch chan string) {
		defer wg.Done()
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}
	wg.Add(2)
	go lines(outPipe, p.stdout)
	go lines(errPipe, p.stderr)
	go func() { wg.Wait(); _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	return p
}

// waitLine reads ch until a line matches re (a generous bound, for a loaded machine)
// and returns its submatches; it fails the test with what was read otherwise.
func waitLine(t *testing.T, ch <-chan string, re *regexp.Regexp) []string {
	t.Helper()
	var seen []string
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("no line matching %s; the process ended after:\n%s", re, strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-timeout:
			t.Fatalf("no line matching %s after:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

// TestFakeTriggerListen runs the three as a person would, in three shells: listen
// prints what the fake sends when trigger makes a customer write.
func TestFakeTriggerListen(t *testing.T) {
	listen := start(t, nil, "listen", "--addr", "127.0.0.1:0")
	addr := waitLine(t, listen.stderr, regexp.MustCompile(`listening on (http://\S+)`))[1]

	fake := start(t, nil, "fake", "--addr", "127.0.0.1:0", "--notify", addr+"/notification", "-v")
	base := waitLine(t, fake.stderr, regexp.MustCompile(`export YM_BASE_URL=(\S+)`))[1]
	key := waitLine(t, fake.stderr, regexp.MustCompile(`export YM_API_KEY=(\S+)`))[1]

	cmd := exec.Command(ymchatBinary(t), "trigger", "customer-writes", "5000003", "-m", "Где мой заказ?")
	cmd.Env = append(os.Environ(), "YM_BASE_URL="+base, "YM_API_KEY="+key, "YM_BUSINESS_ID=100", "YM_PROFILE=", "XDG_CONFIG_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := regexp.MustCompile(`customer-writes: chat 5000003, message (\d+); receivers get CHAT_MESSAGE_SENT`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "%s", out)

	line := waitLine(t, listen.stdout, regexp.MustCompile(`.*"type":"CHAT_MESSAGE_SENT".*`))[0]
	assert.Contains(t, line, `"chatId":5000003`)
	assert.Contains(t, line, `"messageId":"`+m[1]+`"`)
	// -v: the fake logs the request it served.
	waitLine(t, fake.stderr, regexp.MustCompile(`POST /_fake/trigger 200`))
}
