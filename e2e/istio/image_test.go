package istio

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"istio.io/istio/pkg/wasm"

	"github.com/steadfast-proxy/steadfast/e2e/harness"
	"github.com/steadfast-proxy/steadfast/e2e/istio/image"
)

// filters are the modules `make image` packs.
var filters = []string{"faults", "webhookauth", "breaker", "suite"}

// Every module, packed by `make image`'s code, pushed to a registry and
// pulled back by Istio's own image fetcher (the code istio-agent runs for
// a WasmPlugin's oci:// url), is the module that was built, byte for byte,
// with the digest the push reported; and the suite pulled back (every
// filter's root_id) loads in Envoy and runs each filter.
func TestImagePushPullLoad(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	fetcher := wasm.NewImageFetcher(context.Background(), wasm.ImageFetcherOption{Insecure: true})
	pulledPaths := map[string]string{}
	pulledDir := t.TempDir() // outlives the subtests
	for _, name := range filters {
		t.Run(name, func(t *testing.T) {
			built, err := os.ReadFile(module(t, name))
			require.NoError(t, err)
			img, err := image.Build(built)
			require.NoError(t, err)
			again, err := image.Build(built)
			require.NoError(t, err)
			digest, err := img.Digest()
			require.NoError(t, err)
			d2, err := again.Digest()
			require.NoError(t, err)
			assert.Equal(t, digest, d2, "the same module gives the same image")

			ref := host + "/steadfast/" + name + ":v0.1.0"
			pushed, err := image.Push(img, ref, true)
			require.NoError(t, err)
			assert.Equal(t, digest, pushed)

			fetch, actual, err := fetcher.PrepareFetch(ref)
			require.NoError(t, err)
			assert.Equal(t, digest.Hex, actual, "the digest Istio sees, which a WasmPlugin's url may pin")
			pulled, err := fetch()
			require.NoError(t, err)
			require.True(t, bytes.Equal(built, pulled), "the module pulled back is the module built")

			// Pinned by digest, as in url: oci://<registry>/steadfast/<name>@sha256:<digest>.
			fetch, _, err = fetcher.PrepareFetch(host + "/steadfast/" + name + "@" + digest.String())
			require.NoError(t, err)
			_, err = fetch()
			require.NoError(t, err)

			// The layout `make image` writes holds the same image.
			dir := filepath.Join(t.TempDir(), name)
			require.NoError(t, image.WriteLayout(dir, img, "v0.1.0"))
			p, err := layout.FromPath(dir)
			require.NoError(t, err)
			fromLayout, err := p.Image(digest)
			require.NoError(t, err)
			extracted, err := image.Extract(fromLayout)
			require.NoError(t, err)
			require.True(t, bytes.Equal(built, extracted))

			path := filepath.Join(pulledDir, name+".wasm")
			require.NoError(t, os.WriteFile(path, pulled, 0o644))
			pulledPaths[name] = path
		})
	}
	require.Contains(t, pulledPaths, "suite")
	loaded(t, pulledPaths["suite"])
}

// loads says how each filter is started and what it answers to GET /:
// webhookauth refuses an unsigned request, which shows it runs.
var loads = map[string]struct {
	config string
	status int
}{
	"faults":      {`{}`, http.StatusOK},
	"webhookauth": {`{"scheme": "github", "secrets": [{"env": "IMAGE_SECRET"}]}`, http.StatusUnauthorized},
	"breaker":     {`{}`, http.StatusOK},
	"suite":       {`{"webhookauth": {"scheme": "github", "secrets": [{"env": "IMAGE_SECRET"}]}, "faults": {}, "breaker": {}}`, http.StatusUnauthorized},
}

// loaded starts one Envoy with the module at path serving each filter's
// root_id on a listener of its own (one vm_id: one VM per worker) and
// checks each answer.
func loaded(t *testing.T, module string) {
	t.Helper()
	up := harness.NewUpstream(t, nil)
	cfg := harness.Config{
		Clusters:  []harness.Cluster{up.Cluster("app")},
		Env:       map[string]string{"IMAGE_SECRET": "image-e2e-secret"},
		StatsTags: statsTags(t),
	}
	for _, name := range filters {
		cfg.Listeners = append(cfg.Listeners, harness.Listener{Name: name, Filters: []harness.HTTPFilter{harness.Wasm{
			Module: module, RootID: name, Configuration: loads[name].config,
			HostEnvKeys: []string{"IMAGE_SECRET"}, AllowOnHeadersStopIteration: true,
		}}})
	}
	envoy := harness.Start(t, cfg)
	for _, name := range filters {
		assert.Equal(t, loads[name].status, harness.Get(t, envoy.ListenerURL(name, "/")).Status, name)
	}
}

func TestImageRefusesWhatIsNotWasm(t *testing.T) {
	_, err := image.Build([]byte("#!/bin/sh\n"))
	require.ErrorContains(t, err, "not a WebAssembly module")
}
