// Package redistest runs a Redis for the project's tests: a real redis-server child
// process on a free loopback port when one is on PATH (Debian's package; .ci/run
// installs it), and the embedded miniredis, which runs Lua, otherwise. Either way it
// listens on loopback, so child processes can reach it too.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Server is a running Redis for tests.
type Server struct {
	// Addr is its host:port on loopback.
	Addr string
	// Embedded is true when it is miniredis because redis-server is not on PATH.
	Embedded bool

	bin  string
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
}

// Start starts a Redis and waits until it answers.
func Start() (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		mini := miniredis.NewMiniRedis()
		if err := mini.Start(); err != nil {
			return nil, err
		}
		return &Server{Addr: mini.Addr(), Embedded: true, mini: mini}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{Addr: addr, bin: bin}
	return s, s.Restart()
}

// Restart starts the server again on the same address after Stop (its data is gone).
func (s *Server) Restart() error {
	if s.mini != nil {
		return s.mini.Restart()
	}
	_, port, _ := net.SplitHostPort(s.Addr)
	s.cmd = exec.Command(s.bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("redis-server on %s did not answer: %v", s.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the server (nothing is saved).
func (s *Server) Stop() {
	if s.mini != nil {
		s.mini.Close()
		return
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Describe says which Redis the tests run against, for their log.
func (s *Server) Describe() string {
	if s.Embedded {
		return "redis-server is not on PATH: running against the embedded miniredis"
	}
	return "running against redis-server " + s.bin + " on " + s.Addr
}
