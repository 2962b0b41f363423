package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// registerOps mounts the routes probes and scrapers use. They answer on any
// Host, a bare pod IP included, so they sit before host routing.
func registerOps(app *fiber.App, o Options) {
	app.Get("/healthz", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	app.Get("/readyz", readyz(o))
	if o.ServeMetrics && o.Gatherer != nil {
		app.Get("/metrics", MetricsHandler(o))
	}
}

// MetricsHandler serves Prometheus metrics from o.Gatherer.
func MetricsHandler(o Options) fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
}

// readyz pings every dependency concurrently within two seconds. Failures
// are logged; the public answer names the dependency, not the error.
func readyz(o Options) fiber.Handler {
	checks := o.Ready
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		errsCh := make(chan [2]string, len(checks))
		for _, ch := range checks {
			go func() {
				msg := "ok"
				if err := ch.Ping(ctx); err != nil {
					msg = "unavailable"
					if ch.Optional {
						msg = "degraded" // the node serves without it: still ready
					}
					o.Log.Warn("readiness check failed", "check", ch.Name, "err", err)
				}
				errsCh <- [2]string{ch.Name, msg}
			}()
		}
		status, body := fiber.StatusOK, fiber.Map{}
		for range checks {
			r := <-errsCh
			body[r[0]] = r[1]
			if r[1] == "unavailable" {
				status = fiber.StatusServiceUnavailable
			}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(body)
	}
}
