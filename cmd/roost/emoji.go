package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	_ "image/gif" // decoders for checking uploaded emojis
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// runEmoji adds a custom emoji to a tenant: roost emoji add --domain D
// --shortcode S --file F.
func runEmoji(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return errs.E(errs.Invalid, "usage: roost emoji add --domain DOMAIN --shortcode NAME --file IMAGE [--category C] [--hidden]")
	}
	fs := flag.NewFlagSet("emoji add", flag.ContinueOnError)
	domain := fs.String("domain", "", "a domain of the tenant (required)")
	shortcode := fs.String("shortcode", "", "the emoji's :shortcode:, without colons (required)")
	file := fs.String("file", "", "PNG, GIF or WebP image, at most 256 KiB (required)")
	category := fs.String("category", "", "category shown in pickers")
	hidden := fs.Bool("hidden", false, "leave the emoji out of pickers")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *domain == "" || *shortcode == "" || *file == "" {
		return errs.E(errs.Invalid, "--domain, --shortcode and --file are required")
	}
	if !federation.ValidShortcode(*shortcode) {
		return errs.E(errs.Invalid, "a shortcode is 2 to 64 letters, digits or underscores")
	}
	img, contentType, err := readEmoji(*file)
	if err != nil {
		return err
	}
	host, err := tenant.NormalizeHost(*domain)
	if err != nil {
		return err
	}
	svc, err := connect(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer svc.close()
	if err := checkOrigin(ctx, cfg, svc); err != nil { // links for the served origin only
		return err
	}
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return err
	}
	e, err := svc.social.AddCustomEmoji(ctx, federation.CustomEmoji{TenantID: site.TenantID, Shortcode: *shortcode,
		ContentType: contentType, Image: img, VisibleInPicker: !*hidden, Category: *category})
	if err != nil {
		return err
	}
	fmt.Printf(":%s: added to %s (tenant %d)\n", e.Shortcode, site.Domain, site.TenantID)
	return nil
}

// readEmoji reads an emoji image, checking its size and that it is a
// PNG, GIF or WebP image (by content, not by name).
func readEmoji(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, federation.MaxEmojiBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(b) > federation.MaxEmojiBytes {
		return nil, "", errs.E(errs.Invalid, "the image is over %d KiB", federation.MaxEmojiBytes>>10)
	}
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/gif":
		if _, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil {
			return nil, "", errs.E(errs.Invalid, "the image cannot be read: %v", err)
		}
		return b, ct, nil
	case "image/webp":
		return b, ct, nil
	}
	return nil, "", errs.E(errs.Invalid, "the image must be PNG, GIF or WebP")
}
