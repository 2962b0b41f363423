package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// Sampling of the block and mutex profiles while ROOST_PPROF_ADDR is set:
// one blocking event per 10 µs spent blocked, one contended unlock in 100
// — enough to show where a node waits, cheap enough to leave on.
const (
	pprofBlockRate     = 10_000
	pprofMutexFraction = 100
)

// listenPprof serves Go's profiles on addr (ROOST_PPROF_ADDR, which the
// configuration allows on loopback only) from a mux of its own, so
// nothing else is exposed and nothing of pprof reaches the public
// listeners. It returns the function that stops it.
func listenPprof(addr string, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener %s (ROOST_PPROF_ADDR): %w", addr, err)
	}
	runtime.SetBlockProfileRate(pprofBlockRate)
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile or trace streams for its ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			log.Error("pprof listener stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("profiles served on loopback (ROOST_PPROF_ADDR)", "addr", "http://"+addr+"/debug/pprof/")
	return func() {
		_ = srv.Close()
		runtime.SetBlockProfileRate(0)
		runtime.SetMutexProfileFraction(0)
	}, nil
}
