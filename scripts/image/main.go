// Command image prepares and measures the ko-built image without a Docker
// daemon.
//
//	go run ./scripts/image base -from REF -platforms linux/amd64,linux/arm64 -kocache DIR
//	go run ./scripts/image size DIR
//
// base makes ko's base image: REF (pinned by digest, e.g. distroless
// static) plus one layer with the vendored RDS CA bundle at
// /etc/ssl/certs/rds-global-bundle.pem, checked against its pinned SHA-256.
// REF "scratch" builds the base from nothing, for machines that cannot
// pull any image: the host's CA roots, /etc/passwd with root and nonroot
// (65532), and the RDS bundle. The result goes into ko's on-disk cache
// ($KOCACHE/img, an OCI layout) under its digest, and the command prints
// the reference to pass as KO_DEFAULTBASEIMAGE: ko finds a digest in that
// cache without going to a registry.
//
// size prints the compressed size (config and layers) of each image in an
// OCI layout that `ko build --oci-layout-path` wrote.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/goldenpath/rds-provision/internal/release"
)

// baseRepo names the base in ko's cache; it is never pulled, because ko
// looks a digest up in the cache first.
const baseRepo = "rds-provision-base.invalid/base"

// bundlePath is where the image keeps the RDS CA bundle (docs/image.md, action.yml
// sslrootcert default, internal/action.DefaultSSLRootCert).
const bundlePath = "etc/ssl/certs/rds-global-bundle.pem"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: image base -from REF [-platforms ...] -kocache DIR | image size DIR")
	}
	switch args[0] {
	case "base":
		fs := flag.NewFlagSet("base", flag.ContinueOnError)
		from := fs.String("from", "", `base image pinned by digest (name@sha256:...), or "scratch" to build one from nothing`)
		platforms := fs.String("platforms", "linux/amd64", "comma-separated platforms, e.g. linux/amd64,linux/arm64")
		kocache := fs.String("kocache", "", "ko's cache directory (KOCACHE); the base goes into its img/ OCI layout")
		nonroot := fs.Bool("nonroot", false, "scratch only: run as uid 65532 like distroless :nonroot")
		roots := fs.String("roots", "/etc/ssl/certs/ca-certificates.crt", "scratch only: the CA roots for AWS and GitHub APIs")
		repoRoot := fs.String("repo-root", ".", "repository root (certs/ is read from it)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *kocache == "" {
			return errors.New("base: -kocache is required (ko reads the base from $KOCACHE/img)")
		}
		bundle, err := release.ReadCABundle(*repoRoot)
		if err != nil {
			return err
		}
		idx, err := buildBase(*from, strings.Split(*platforms, ","), bundle, *nonroot, *roots)
		if err != nil {
			return err
		}
		ref, err := storeBase(filepath.Join(*kocache, "img"), idx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, ref)
		return nil
	case "size":
		if len(args) != 2 {
			return errors.New("usage: image size OCI-LAYOUT-DIR")
		}
		return printSizes(args[1], stdout)
	default:
		return fmt.Errorf("unknown command %q: want base or size", args[0])
	}
}

// buildBase returns an index with one base image per platform, each with
// the RDS CA bundle layer on top.
func buildBase(from string, platforms []string, bundle []byte, nonroot bool, rootsPath string) (v1.ImageIndex, error) {
	var want []v1.Platform
	for _, p := range platforms {
		pl, err := v1.ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			return nil, fmt.Errorf("platform %q: %w", p, err)
		}
		want = append(want, *pl)
	}
	files := map[string][]byte{bundlePath: bundle}
	var source func(v1.Platform) (v1.Image, error)
	switch {
	case from == "scratch":
		roots, err := os.ReadFile(rootsPath)
		if err != nil {
			return nil, fmt.Errorf("scratch base: read the CA roots (-roots): %w", err)
		}
		files["etc/ssl/certs/ca-certificates.crt"] = roots
		files["etc/passwd"] = []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
		files["etc/group"] = []byte("root:x:0:\nnonroot:x:65532:\n")
		source = func(p v1.Platform) (v1.Image, error) {
			cfg := v1.Config{Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}}
			if nonroot {
				cfg.User = "65532"
				cfg.WorkingDir = "/home/nonroot"
			}
			img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, Config: cfg, RootFS: v1.RootFS{Type: "layers"}})
			if err != nil {
				return nil, err
			}
			return mutate.MediaType(img, types.OCIManifestSchema1), nil
		}
	case from == "":
		return nil, errors.New(`base: -from is required: an image pinned by digest, or "scratch"`)
	default:
		ref, err := name.ParseReference(from)
		if err != nil {
			return nil, fmt.Errorf("base image %q: %w", from, err)
		}
		if _, ok := ref.(name.Digest); !ok {
			return nil, fmt.Errorf("base image %q: pin it by digest (name@sha256:...), so every build starts from the same bytes", from)
		}
		source = func(p v1.Platform) (v1.Image, error) {
			img, err := remote.Image(ref, remote.WithPlatform(p))
			if err != nil {
				return nil, fmt.Errorf("pull base image %s for %s (no registry reachable? IMAGE_BASE=scratch builds one from nothing, IMAGE_BASE=<mirror>@sha256:... uses a mirror): %w", ref, p, err)
			}
			return img, nil
		}
	}
	layer, err := filesLayer(files)
	if err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range want {
		img, err := source(p)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer, History: v1.History{CreatedBy: "rds-provision: RDS CA bundle", Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
		if err != nil {
			return nil, err
		}
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

// filesLayer is a reproducible layer holding files (mode 0644, owner root,
// time zero) and their directories.
func filesLayer(files map[string][]byte) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, p := range sortedKeys(files) {
		for d := filepath.Dir(p); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range sortedKeys(dirs) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
	}
	for _, p := range sortedKeys(files) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(files[p])), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	raw := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }, tarball.WithMediaType(types.OCILayer))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Directories sort before their files: a prefix sorts first.
	slices.Sort(keys)
	return keys
}

// storeBase writes idx and each of its images into the OCI layout at dir
// (ko looks each digest up in the layout's top-level index) and returns
// the digest reference of idx.
func storeBase(dir string, idx v1.ImageIndex) (string, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return "", fmt.Errorf("create ko's cache %s: %w", dir, err)
		}
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return "", err
		}
		if err := p.AppendImage(img, layout.WithPlatform(*d.Platform)); err != nil {
			return "", fmt.Errorf("store base image for %s: %w", d.Platform, err)
		}
	}
	if err := p.AppendIndex(idx); err != nil {
		return "", fmt.Errorf("store base index: %w", err)
	}
	h, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return baseRepo + "@" + h.String(), nil
}

// printSizes prints, for each image in the layout, its platform and its
// compressed size: what a runner downloads.
func printSizes(dir string, stdout io.Writer) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		return fmt.Errorf("read the image layout %s (run `make image` first): %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return err
	}
	var walk func(ii v1.ImageIndex) error
	walk = func(ii v1.ImageIndex) error {
		im, err := ii.IndexManifest()
		if err != nil {
			return err
		}
		for _, d := range im.Manifests {
			if d.MediaType.IsIndex() {
				child, err := ii.ImageIndex(d.Digest)
				if err != nil {
					return err
				}
				if err := walk(child); err != nil {
					return err
				}
				continue
			}
			if !d.MediaType.IsImage() {
				continue
			}
			img, err := ii.Image(d.Digest)
			if err != nil {
				return err
			}
			m, err := img.Manifest()
			if err != nil {
				return err
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return err
			}
			total := m.Config.Size
			for _, l := range m.Layers {
				total += l.Size
			}
			fmt.Fprintf(stdout, "%s/%s\t%s\t%d bytes (%.1f MB) compressed, %d layers\n", cf.OS, cf.Architecture, d.Digest, total, float64(total)/1e6, len(m.Layers))
		}
		return nil
	}
	return walk(top)
}
