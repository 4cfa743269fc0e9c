// Package image packs a proxy-wasm module as the OCI image Istio's agent
// pulls for a WasmPlugin url "oci://...": the compat variant of the Wasm
// image specification, one gzipped tar layer of media type
// application/vnd.oci.image.layer.v1.tar+gzip holding one file,
// plugin.wasm. The image is reproducible: the same module always gives the
// same digest.
package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PluginFile is the name Istio's agent looks for in the image's layer.
const PluginFile = "plugin.wasm"

// wasmMagic starts every WebAssembly binary module.
var wasmMagic = []byte{0x00, 'a', 's', 'm'}

// refNameAnnotation tags an image inside an OCI layout.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// Build returns the image of one module.
func Build(module []byte) (v1.Image, error) {
	if !bytes.HasPrefix(module, wasmMagic) {
		return nil, errors.New("not a WebAssembly module (no \\0asm header)")
	}
	var tarred bytes.Buffer
	tw := tar.NewWriter(&tarred)
	if err := tw.WriteHeader(&tar.Header{
		Name:     PluginFile,
		Mode:     0o644,
		Size:     int64(len(module)),
		Typeflag: tar.TypeReg,
		Format:   tar.FormatPAX,
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(module); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarred.Bytes())), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{Architecture: "wasm", OS: "wasip1"})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layer)
}

// BuildFile is Build for a module on disk.
func BuildFile(path string) (v1.Image, error) {
	module, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := Build(module)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// WriteLayout writes img as an OCI image layout in dir (replacing what
// was there), tagged tag; `crane push <dir> <reference>` publishes it.
func WriteLayout(dir string, img v1.Image, tag string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: tag}))
}

// Push publishes img at ref with the credentials of the local Docker
// configuration, over plain HTTP when insecure is set.
func Push(img v1.Image, ref string, insecure bool, opts ...remote.Option) (v1.Hash, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// Extract returns the module inside an image built by Build, checking the
// compat variant's shape: a single layer, its media type, one plugin.wasm.
func Extract(img v1.Image) ([]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	if len(layers) != 1 {
		return nil, fmt.Errorf("image has %d layers, want 1", len(layers))
	}
	mt, err := layers[0].MediaType()
	if err != nil {
		return nil, err
	}
	if mt != types.OCILayer {
		return nil, fmt.Errorf("layer media type %s, want %s", mt, types.OCILayer)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var module []byte
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Name != PluginFile || module != nil {
			return nil, fmt.Errorf("layer holds %q; want only %s", h.Name, PluginFile)
		}
		if module, err = io.ReadAll(tr); err != nil {
			return nil, err
		}
	}
	if module == nil {
		return nil, fmt.Errorf("layer has no %s", PluginFile)
	}
	return module, nil
}
