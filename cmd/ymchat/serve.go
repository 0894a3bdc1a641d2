package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves h on addr, given with flag, (HTTPS when tlsConfig is set) until ctx ends, then
// shuts down within deadline so that the requests in flight get their answer: the
// Market retries a push that got none. started, if set, runs once the address is
// bound and announced. listen and inbox --listen share it.
func serveHTTP(ctx context.Context, e *env, logger *slog.Logger, flag, addr string, tlsConfig *tls.Config,
	h http.Handler, deadline time.Duration, started func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usagef("%s %s: %v", flag, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:         tlsConfig,
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(e.stderr, "listening on %s://%s\n", scheme, ln.Addr())
	if started != nil {
		started()
	}
	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		return fmt.Errorf("listen: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: answering the notifications in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadline)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("listen: shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}
