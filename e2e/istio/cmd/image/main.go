// Command image packs proxy-wasm modules as the OCI images Istio's agent
// pulls (see package image), one per module:
//
//	image -out build/image -tag v0.1.0 build/faults.wasm build/suite.wasm
//
// writes an OCI image layout per module (build/image/faults, ...) and
// prints each image's digest, which a WasmPlugin can pin with
// url: oci://registry.example.com/steadfast/faults@sha256:<digest>. With
// -push registry.example.com/steadfast it also pushes each as
// <push>/<module>:<tag>, with the credentials of the Docker configuration.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/steadfast-proxy/steadfast/e2e/istio/image"
)

func main() {
	out := flag.String("out", "build/image", "directory of the OCI layouts, one per module")
	tag := flag.String("tag", "latest", "tag of the images")
	push := flag.String("push", "", "repository prefix to push to, such as registry.example.com/steadfast")
	insecure := flag.Bool("insecure", false, "push over plain HTTP")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: image [-out dir] [-tag tag] [-push repository] module.wasm...")
		os.Exit(2)
	}
	for _, path := range flag.Args() {
		if err := pack(path, *out, *tag, *push, *insecure); err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
	}
}

func pack(path, out, tag, push string, insecure bool) error {
	name := strings.TrimSuffix(filepath.Base(path), ".wasm")
	img, err := image.BuildFile(path)
	if err != nil {
		return err
	}
	dir := filepath.Join(out, name)
	if err := image.WriteLayout(dir, img, tag); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%-12s %s %s\n", name, digest, dir)
	if push == "" {
		return nil
	}
	ref := strings.TrimSuffix(push, "/") + "/" + name + ":" + tag
	if _, err := image.Push(img, ref, insecure, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	fmt.Printf("%-12s pushed %s\n", name, ref)
	return nil
}
