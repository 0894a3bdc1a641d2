package faultnet

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAGatewayThatGivesUpAnswers504WhileUpstreamGoesOn(t *testing.T) {
	release := make(chan struct{})
	landed := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // the server is slow
		close(landed)
		_, _ = io.WriteString(w, "done")
	}))
	defer srv.Close()
	gw := NewGateway(srv.URL, func(*http.Request) time.Duration { return GiveUpAtOnce })
	front := httptest.NewServer(gw)
	defer front.Close()

	resp, err := http.Post(front.URL+"/send", "text/plain", nil)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
	assert.Equal(t, 1, gw.Timeouts())
	close(release)
	gw.Settle() // returns once the upstream request ended
	select {
	case <-landed:
	default:
		t.Fatal("Settle returned before the upstream request landed")
	}
}

func TestAGatewayPassesAnAnswerThatComesInTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "upstream")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "made")
	}))
	defer srv.Close()
	gw := NewGateway(srv.URL, func(*http.Request) time.Duration { return time.Minute })
	front := httptest.NewServer(gw)
	defer front.Close()
	resp, err := http.Get(front.URL + "/x")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "upstream", resp.Header.Get("X-From"))
	assert.Equal(t, "made", string(b))
	assert.Zero(t, gw.Timeouts())
}
