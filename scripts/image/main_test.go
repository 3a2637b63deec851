package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestScratchBaseInKoCache builds the offline base the way `make image
// IMAGE_BASE=scratch` does and reads it back from ko's cache layout by the
// printed digest, as ko does.
func TestScratchBaseInKoCache(t *testing.T) {
	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, []byte("host roots\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kocache := t.TempDir()
	var out bytes.Buffer
	err := run([]string{"base", "-from", "scratch", "-platforms", "linux/amd64,linux/arm64", "-nonroot", "-roots", roots, "-kocache", kocache, "-repo-root", "../.."}, &out)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewDigest(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("printed %q, want a digest reference for KO_DEFAULTBASEIMAGE: %v", out.String(), err)
	}

	p, err := layout.FromPath(filepath.Join(kocache, "img"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	h, _ := v1.NewHash(ref.DigestStr())
	idx, err := top.ImageIndex(h)
	if err != nil {
		t.Fatalf("base index %s not in ko's cache: %v", h, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.String())
		// ko looks each platform's image up by digest in the top-level index.
		img, err := top.Image(d.Digest)
		if err != nil {
			t.Fatalf("%s image not in the cache's top-level index: %v", d.Platform, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "65532" || cf.OS+"/"+cf.Architecture != d.Platform.String() {
			t.Errorf("%s config: user %q, platform %s/%s; want 65532 and the index's platform", d.Platform, cf.Config.User, cf.OS, cf.Architecture)
		}
		files := layerFiles(t, img)
		bundle, err := os.ReadFile("../../certs/rds-global-bundle.pem")
		if err != nil {
			t.Fatal(err)
		}
		if files[bundlePath] != string(bundle) {
			t.Errorf("%s: %s is not the vendored bundle", d.Platform, bundlePath)
		}
		if files["etc/ssl/certs/ca-certificates.crt"] != "host roots\n" {
			t.Errorf("%s: CA roots = %q, want the -roots file", d.Platform, files["etc/ssl/certs/ca-certificates.crt"])
		}
		if !strings.Contains(files["etc/passwd"], "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd has no nonroot user: %q", d.Platform, files["etc/passwd"])
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, platforms); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

func TestBaseRefusals(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"base by tag", []string{"base", "-from", "gcr.io/distroless/static-debian12:nonroot", "-kocache", "x", "-repo-root", "../.."}, "pin it by digest"},
		{"no base", []string{"base", "-kocache", "x", "-repo-root", "../.."}, "-from is required"},
		{"no cache", []string{"base", "-from", "scratch", "-repo-root", "../.."}, "-kocache is required"},
		{"changed CA bundle", []string{"base", "-from", "scratch", "-kocache", "x", "-repo-root", tamperedRepo(t)}, "the bundle changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error saying %q", tt.args, err, tt.want)
			}
		})
	}
}

// tamperedRepo is a repository root whose CA bundle no longer matches its
// pinned checksum.
func tamperedRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("../../certs/rds-global-bundle.pem.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "certs/rds-global-bundle.pem.sha256"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "certs/rds-global-bundle.pem"), []byte("-----BEGIN CERTIFICATE-----\nnot it\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// layerFiles returns the regular files of img's layers, later layers winning.
func layerFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				b, _ := io.ReadAll(tr)
				files[h.Name] = string(b)
			}
		}
		rc.Close()
	}
	return files
}
