//go:build wasm

package webhookauth

import "github.com/steadfast-proxy/steadfast/internal/sha256wasm"

// Under Wasm, SHA-256 comes from sha256wasm: crypto/sha256 has no
// assembly there, and its portable code hashes at about half the speed.
var (
	newSHA256 = sha256wasm.New
	sum256    = sha256wasm.Sum256
)
